import ArgumentParser
import NIOCore
import TCSplitterCore

/// Every tunnel flag, with the original's spellings (`--rFling`, `a:b` pairs, `0` = off) and code
/// defaults, in the groups `--help` shows them in (`Options/`). Each value is parsed by its type
/// (`Options/Values/`) when the command line is read, so every refusal names its flag.
struct TunnelOptions {
    /// Client addresses and pool.
    var client: ClientOptions
    /// Server addresses and admission.
    var server: ServerOptions
    /// Clocks, payloads, budget, window, protocol, congestion control.
    var tuning: TuningOptions
    /// FEC, retries and timeouts.
    var reliability: ReliabilityOptions
    /// The pre-shared key.
    var security: SecurityOptions
    /// Sessions, connections and memory.
    var limits: LimitOptions

    /// The role the set addresses imply, as the original inferred it.
    func inferredRole() throws(ConfigurationError) -> Role {
        let client = self.client.rFling.address != nil
        let server = self.server.lFling.address != nil || self.server.lSync.address != nil
        switch (client, server) {
        case (true, false): return .client
        case (false, true): return .server
        case (true, true):
            throw ConfigurationError(
                flag: "--rFling",
                "set either client addresses (--rFling, --rSync) or server addresses (--lFling, --lSync), not both"
            )
        case (false, false):
            throw ConfigurationError(
                flag: "--rFling",
                "nothing to run: set --rFling and --rSync for a client, or --lFling, --lSync and --forward for a server (see --help)"
            )
        }
    }

    /// The configuration these flags describe for `role`, validated.
    func configuration(
        role: Role, arguments: [String] = CommandLine.arguments
    ) throws(ConfigurationError) -> TunnelConfiguration {
        let configuration = try self.withPreset(arguments: arguments).parsedValues(role: role)
        try configuration.validate()
        return configuration
    }

    /// The configuration the flag values describe, before the rules between flags.
    func parsedValues(role: Role) -> TunnelConfiguration {
        var configuration = TunnelConfiguration(role: role)
        configuration.listen = self.client.listen.address
        configuration.forward = self.server.forward?.address
        configuration.remoteFling = self.client.rFling.address
        configuration.localFling = self.server.lFling.address
        if let rSync = self.client.rSync {
            configuration.remoteSync = rSync.address
        } else if let fling = configuration.remoteFling {
            configuration.remoteSync = EndpointAddress(host: fling.host, port: TunnelConfiguration.defaultSyncPort)
        }
        configuration.localSync = self.server.lSync.address
        configuration.remoteLasso = self.client.rLasso.address
        configuration.localLasso = self.server.lLasso.address
        configuration.autoConnections = self.client.conns == .auto
        if let connections = self.client.conns.fixedValue { configuration.connections = connections }
        configuration.lassoes = self.client.lassoes
        configuration.payloadBytes = self.tuning.frags.payloadBytes
        configuration.mtuBytes = self.tuning.frags.mtuBytes
        configuration.tickInterval = self.tuning.tick.timeAmount
        configuration.tockInterval = self.tuning.tock.timeAmount
        configuration.bufferInterval = self.tuning.buffer.interval.timeAmount
        configuration.bufferPayloads = self.tuning.buffer.payloads
        configuration.rampDelay = self.client.after.timeAmount
        configuration.fecDataShards = self.reliability.fec.dataShards
        configuration.fecParityShards = self.reliability.fec.parityShards
        configuration.adaptiveClocks = self.tuning.clocks == .adaptive
        configuration.dup = self.client.dup
        configuration.transparent = self.client.transparent
        configuration.autoCongestion = self.tuning.congestion == .auto
        configuration.congestionControl = self.tuning.congestion.fixedValue
        configuration.allowRules = self.server.allow
        configuration.localProtocol = self.tuning.localProtocol
        let retries = self.reliability.retries ?? RetryPolicy.standard(for: self.tuning.localProtocol)
        configuration.retries = retries.resends
        configuration.retrySkip = retries.skipAfterRequests
        configuration.udpIdleTimeout = self.tuning.udpIdleTimeout.timeAmount
        configuration.scalesBudget = self.tuning.budget == .auto
        if let budget = self.tuning.budget.fixedValue { configuration.payloadsPerConnection = budget }
        configuration.autoWindow = self.tuning.window == .auto
        if let window = self.tuning.window.fixedValue { configuration.windowBytes = window.bytes }
        configuration.maxSessions = self.limits.maxSessions
        configuration.typeOfService = self.tuning.tos
        if let maxConns = self.limits.maxConns {
            configuration.maxConnectionsPerClient = maxConns
            configuration.poolMaximum = min(maxConns, 1024)
        }
        configuration.maxPendingHellos = self.server.maxHandshakes
        configuration.maxClients = self.server.maxClients
        configuration.maxBufferBytes = self.limits.maxBuffer.bytes
        configuration.dialTimeout = self.reliability.dialTimeout.timeAmount
        configuration.helloTimeout = self.reliability.helloTimeout.timeAmount
        configuration.idleTimeout = self.reliability.idleTimeout.timeAmount
        configuration.stallTimeout = self.reliability.stallTimeout.timeAmount
        return configuration
    }
}
