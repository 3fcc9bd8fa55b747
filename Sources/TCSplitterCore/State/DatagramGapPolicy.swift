import NIOCore

/// UDP mode's loss policy without `--retries`: a gap in the stream that a dead connection left is
/// given up on, so the datagrams behind it go on instead of waiting for bytes that nothing will
/// resend.
///
/// Payloads travel on many connections, so a gap is normal for a moment; FEC may still rebuild
/// it once the rest of its group arrives. TCP loses nothing on a connection that stays up, so a
/// gap is taken for a loss only when a data connection of the link broke around the time it
/// appeared (from `wait` before it was first seen, onwards) and it stayed open for `wait`; a gap
/// with no broken connection to explain it (a late payload on a busy or descheduled end) is
/// waited for up to `silentWait` (a connection that went silent without breaking). Only the
/// first gap can be skipped (skipping a later one would jump over the earlier gap and the bytes
/// held between them), so the skips are the leading gaps that qualify, in order: datagrams stay
/// in order, and only those with bytes in a gap are lost.
///
/// ```
///  gap seen ─┬─ a connection broke, and `wait` (round trip, + tock with FEC) passed ─▶ skip
///            └─ `silentWait` passed ──────────────────────────────────────────────────▶ skip
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
    /// at least `wait` ago with a data connection broken at `lastLoss` no earlier than `wait`
    /// before they appeared, or seen at least `silentWait` ago.
    public mutating func update(
        missing: [Range<UInt64>],
        now: NIODeadline,
        wait: TimeAmount,
        lastLoss: NIODeadline?,
        silentWait: TimeAmount
    ) -> [Range<UInt64>] {
        var merged: [Gap] = []
        for range in missing where !range.isEmpty {
            let old = self.gaps.first(where: { $0.range.overlaps(range) })
            merged.append(Gap(range: range, firstSeen: old?.firstSeen ?? now))
        }
        var skips: [Range<UInt64>] = []
        func lost(_ gap: Gap) -> Bool {
            let age = now - gap.firstSeen
            if age >= silentWait { return true }
            guard age >= wait, let lastLoss else { return false }
            return lastLoss >= gap.firstSeen - wait
        }
        while let first = merged.first, lost(first) {
            skips.append(first.range)
            merged.removeFirst()
        }
        self.gaps = merged
        self.skippedRanges += skips.count
        return skips
    }
}
