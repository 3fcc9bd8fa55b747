import NIOCore

/// What an end declares in its hellos: the settings both ends must share, and the client's
/// tuning that the server follows.
extension TunnelConfiguration {
    /// The settings both ends must share (`--frags`, `--fec`, `--protocol`).
    public var agreement: TunnelAgreement {
        TunnelAgreement(
            payloadBytes: UInt32(clamping: self.payloadBytes),
            fecDataShards: UInt8(clamping: self.fecDataShards),
            fecParityShards: UInt8(clamping: self.fecParityShards),
            localProtocol: self.localProtocol
        )
    }

    /// This end's tuning as the client declares it.
    public var tuning: ClientTuning {
        ClientTuning(
            tickMilliseconds: Self.wireMilliseconds(self.tickInterval),
            tockMilliseconds: Self.wireMilliseconds(self.tockInterval),
            bufferMilliseconds: Self.wireMilliseconds(self.bufferInterval),
            bufferPayloads: UInt32(clamping: self.bufferPayloads),
            budget: self.scalesBudget ? 0 : UInt32(clamping: self.payloadsPerConnection),
            retrySkip: Int32(clamping: self.retrySkip),
            windowBytes: UInt32(clamping: self.windowBytes),
            retries: self.retries,
            adaptiveClocks: self.adaptiveClocks
        )
    }

    /// This (server) configuration with a client's tuning: its sessions for that client use the
    /// clocks, buffer, budget, retries and window the client chose. The server's limits stay its
    /// own: a declared window is taken only up to the server's `--max-buffer` for one session,
    /// and a declared prefill only up to half that window (as `validate()` requires).
    public func following(_ tuning: ClientTuning) -> TunnelConfiguration {
        var followed = self
        followed.tickInterval = .milliseconds(Int64(tuning.tickMilliseconds))
        followed.tockInterval = .milliseconds(Int64(tuning.tockMilliseconds))
        followed.bufferInterval = .milliseconds(Int64(tuning.bufferMilliseconds))
        followed.adaptiveClocks = tuning.adaptiveClocks
        followed.retries = tuning.retries
        followed.retrySkip = Int(tuning.retrySkip)
        if tuning.budget == 0 {
            followed.scalesBudget = true
            followed.payloadsPerConnection = TunnelConfiguration(role: self.role).payloadsPerConnection
        } else {
            followed.scalesBudget = false
            followed.payloadsPerConnection = Int(tuning.budget)
        }
        let window = max(2 * self.payloadBytes, min(Int(tuning.windowBytes), self.maxBufferBytes / 2))
        followed.windowBytes = window
        followed.bufferPayloads = min(Int(tuning.bufferPayloads), window / 2 / max(1, self.payloadBytes))
        return followed
    }

    private static func wireMilliseconds(_ amount: TimeAmount) -> UInt32 {
        UInt32(clamping: amount.nanoseconds / 1_000_000)
    }
}
