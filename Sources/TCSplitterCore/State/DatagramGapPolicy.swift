import NIOCore

/// UDP mode's loss policy without `--retries`: a gap in the stream that stays unfilled for
/// `wait` is given up on, so the datagrams behind it go on instead of waiting for bytes that a
/// dead connection took with it (and that nothing will resend).
///
/// Payloads travel on many connections, so a gap is normal for a moment; FEC may still rebuild
/// it once the rest of its group arrives. Only the first gap can be skipped (skipping a later
/// one would jump over the earlier gap and the bytes held between them), so the skips are the
/// leading gaps that are old enough, in order: datagrams stay in order, and only those with
/// bytes in a gap are lost.
///
/// ```
///  gap seen ──wait (round trip, + tock with FEC)──▶ skip: resync at the next payload
/// ```
public struct DatagramGapPolicy: Sendable {
    private struct Gap: Sendable {
        var range: Range<UInt64>
        var firstSeen: NIODeadline
    }

    private var gaps: [Gap] = []
    /// Ranges given up on so far.
    public private(set) var skippedRanges = 0

    /// A policy with no gap seen yet.
    public init() {}

    /// Updates the gaps from the receiver's state (`missing`, in order, starting at its delivered
    /// offset or later) and returns the ranges to skip at `now`, in order: the leading gaps seen
    /// at least `wait` ago.
    public mutating func update(missing: [Range<UInt64>], now: NIODeadline, wait: TimeAmount) -> [Range<UInt64>] {
        var merged: [Gap] = []
        for range in missing where !range.isEmpty {
            let old = self.gaps.first(where: { $0.range.overlaps(range) })
            merged.append(Gap(range: range, firstSeen: old?.firstSeen ?? now))
        }
        var skips: [Range<UInt64>] = []
        while let first = merged.first, now - first.firstSeen >= wait {
            skips.append(first.range)
            merged.removeFirst()
        }
        self.gaps = merged
        self.skippedRanges += skips.count
        return skips
    }
}
