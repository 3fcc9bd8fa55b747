import NIOCore

/// Keeps a tunnel end from amplifying traffic (hysteria#1230, kcptun#91): the payload bytes it
/// puts on the wire (stream data, FEC parity, resends) stay within `ratio` times the bytes the
/// peer acknowledged, plus the configured FEC overhead, over any `window`. Only resends are held
/// back (data and parity are what the user asked for): a resend the guard refuses waits, and the
/// receiver's next request finds it again.
///
/// It reads the end's running totals (`TunnelCounters.wireBytesSent`, `.bytesAcknowledged`):
/// `record` keeps one snapshot a second, and a window's bytes are the totals now minus the
/// oldest snapshot inside it.
///
/// Bytes sent once and not acknowledged yet (`inFlightBytes`: the sessions' unacknowledged
/// data) are on their way, not amplification, so they do not count against the ratio. Without
/// that a transfer's first window went out before much of it could be acknowledged, and on a
/// 50 ms / 0.5% loss path the guard refused every resend of the first seconds (the payloads
/// that stall the stream), 128 times in one ten-second run. A resend of an in-flight payload
/// still counts in full: a peer that acknowledges nothing gets its window and the allowance
/// per `window`, no more.
///
/// ```
///   wire bytes (last 5 s) − in flight  ≤  ratio × (1 + parity/data) × acknowledged (last 5 s)  +  allowance
/// ```
public struct SendGuard: Sendable {
    /// The most wire bytes per acknowledged byte, FEC overhead aside.
    public let ratio: Double
    /// FEC's own overhead: parity shards per data shard.
    public let fecOverhead: Double
    /// The span the totals are compared over.
    public let window: TimeAmount
    /// Resend bytes allowed whatever was acknowledged (a session's start, a dead connection).
    public let allowanceBytes: Int
    private var snapshots: [(at: NIODeadline, wire: Int, acknowledged: Int)] = []
    /// Resends refused so far.
    public private(set) var refusedResends = 0

    /// A guard of `ratio` (1.3 by default) over `window` (5 s).
    public init(
        ratio: Double = 1.3, fecDataShards: Int = 0, fecParityShards: Int = 0, window: TimeAmount = .seconds(5),
        allowanceBytes: Int = 1 << 20
    ) {
        self.ratio = ratio
        self.fecOverhead = fecDataShards > 0 ? Double(fecParityShards) / Double(fecDataShards) : 0
        self.window = window
        self.allowanceBytes = allowanceBytes
    }

    /// Notes the end's totals (call often; one snapshot a second is kept).
    public mutating func record(wireTotal: Int, acknowledgedTotal: Int, now: NIODeadline) {
        if let last = self.snapshots.last, now - last.at < .seconds(1) { return }
        self.snapshots.append((now, wireTotal, acknowledgedTotal))
        // Keep the newest snapshot at or before the window's start, and those after it.
        while self.snapshots.count > 1, now - self.snapshots[1].at >= self.window { self.snapshots.removeFirst() }
    }

    /// The wire and acknowledged bytes within the window, given the totals now.
    public func windowBytes(wireTotal: Int, acknowledgedTotal: Int) -> (wire: Int, acknowledged: Int) {
        guard let oldest = self.snapshots.first else { return (wireTotal, acknowledgedTotal) }
        return (wireTotal - oldest.wire, acknowledgedTotal - oldest.acknowledged)
    }

    /// Whether `bytes` more may be resent now, `inFlightBytes` having been sent once and not
    /// acknowledged yet; a refusal is counted.
    public mutating func allowsResend(
        bytes: Int, wireTotal: Int, acknowledgedTotal: Int, inFlightBytes: Int = 0
    )
        -> Bool
    {
        let recent = self.windowBytes(wireTotal: wireTotal, acknowledgedTotal: acknowledgedTotal)
        let limit = self.ratio * (1 + self.fecOverhead) * Double(recent.acknowledged) + Double(self.allowanceBytes)
        let sent = recent.wire - min(max(0, inFlightBytes), recent.wire)
        guard Double(sent + bytes) <= limit else {
            self.refusedResends += 1
            return false
        }
        return true
    }

    /// Wire bytes per acknowledged byte within the window (0 when nothing was acknowledged).
    public func ratio(wireTotal: Int, acknowledgedTotal: Int) -> Double {
        let recent = self.windowBytes(wireTotal: wireTotal, acknowledgedTotal: acknowledgedTotal)
        return recent.acknowledged > 0 ? Double(recent.wire) / Double(recent.acknowledged) : 0
    }
}
