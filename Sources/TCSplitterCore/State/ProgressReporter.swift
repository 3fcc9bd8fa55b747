import NIOCore

/// Decides when a session sends a `progress` message (its acknowledgement) on the sync connection.
///
/// Acknowledgements are batched so they cost little: one is sent when a quarter of the window was
/// consumed since the last, or when the local socket has taken everything delivered (the stream is
/// caught up: the peer should know at once, or an interactive exchange would wait). A side whose own
/// bytes stay unacknowledged reports how far it has sent every `probeInterval`, so the peer can tell
/// a lost payload from a quiet stream.
public struct ProgressReporter: Sendable {
    /// The receive window; a quarter of it consumed triggers a report.
    public let windowBytes: Int
    /// How often to report the sent offset while bytes are unacknowledged.
    public let probeInterval: TimeAmount
    /// The received offset last reported.
    public private(set) var reportedReceived: UInt64 = 0
    /// The sent offset last reported.
    public private(set) var reportedSent: UInt64 = 0
    private var lastReport: NIODeadline

    /// A reporter that has reported nothing, at `now`.
    public init(windowBytes: Int, probeInterval: TimeAmount, now: NIODeadline) {
        self.windowBytes = windowBytes
        self.probeInterval = probeInterval
        self.lastReport = now
    }

    /// Whether to report now. `consumed`/`delivered` describe the receiving half, `sent`/`acked`
    /// the sending half.
    public func shouldReport(
        consumed: UInt64, delivered: UInt64, sent: UInt64, acked: UInt64, now: NIODeadline
    )
        -> Bool
    {
        if consumed > self.reportedReceived {
            if consumed - self.reportedReceived >= UInt64(max(1, self.windowBytes / 4)) { return true }
            if consumed == delivered { return true }
        }
        if sent > acked && sent > self.reportedSent && now - self.lastReport >= self.probeInterval { return true }
        return false
    }

    /// A report with these offsets was sent.
    public mutating func reported(consumed: UInt64, sent: UInt64, now: NIODeadline) {
        self.reportedReceived = max(self.reportedReceived, consumed)
        self.reportedSent = max(self.reportedSent, sent)
        self.lastReport = now
    }
}
