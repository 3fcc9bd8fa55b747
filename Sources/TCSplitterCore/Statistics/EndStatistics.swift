import NIOCore

/// A snapshot of one tunnel end, taken on its event loop: the running totals plus what is open
/// and buffered at that moment, and the limits to read them against. A pure value, so the status
/// report and the metrics can format it anywhere.
public struct EndStatistics: Hashable, Sendable {
    /// Which end.
    public var role: Role
    /// Time since the end started (rates are differences of two snapshots over their uptimes).
    public var uptime: TimeAmount
    /// Running totals.
    public var counters = TunnelCounters()
    /// Sessions open now.
    public var sessionsOpen = 0
    /// Connections open now (hello completed), by kind.
    public var connectionsOpen: [ConnectionKind: Int] = [:]
    /// Bytes the open sessions hold to send: read and not yet packed, or sent and not yet
    /// acknowledged. At most `windowBytes` per session.
    public var sendBufferedBytes = 0
    /// Bytes the open sessions hold from the peer: out of order, in the playout buffer, or being
    /// written to the local socket. At most `windowBytes` per session.
    public var receiveBufferedBytes = 0
    /// Payload bytes waiting for a data connection that can take them (part of the send side).
    public var queuedBytes = 0
    /// `--window`: bytes per session and direction.
    public var windowBytes: Int
    /// Sessions the end admits at once (`--max-sessions`, within `--max-buffer`).
    public var maxSessions: Int
    /// Client: the fling connections the pool keeps now (`--conns`, or what `--conns auto`
    /// chose), and why it last changed (`nil`: never, or a fixed `--conns`).
    public var poolConnections = 0
    public var poolReason: String?
    /// Payload bytes on the wire per byte the peer acknowledged over the last 5 s (the send
    /// guard keeps it at most 1.3 plus FEC overhead); 0 when nothing was acknowledged.
    public var wireRatio: Double = 0
    /// Rejected peer input so far: bad frames, failed hellos, connections and sessions refused
    /// over a limit (each also logged, at a limited rate).
    public var badInput = 0

    /// An empty snapshot of an end with these limits.
    public init(role: Role, uptime: TimeAmount, windowBytes: Int, maxSessions: Int) {
        self.role = role
        self.uptime = uptime
        self.windowBytes = windowBytes
        self.maxSessions = maxSessions
    }

    /// What the open sessions may buffer at most in each direction (sessions × window).
    public var bufferLimitBytes: Int { self.sessionsOpen * self.windowBytes }

    /// What all sessions of the end may buffer at most, both directions (the memory bound logged
    /// at start).
    public var memoryBoundBytes: Int { self.maxSessions * 2 * self.windowBytes }
}
