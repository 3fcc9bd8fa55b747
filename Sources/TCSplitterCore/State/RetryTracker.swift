import NIOCore

/// The receiver's side of retries: which missing byte ranges to ask for again, when, and when
/// to give up on them.
///
/// A gap is a range the peer has sent (it lies before a stashed payload or the peer's reported
/// sent offset) that has not arrived. Payloads travel on many connections, so a gap is normal for
/// a moment; it is only asked for once it is older than the retry timeout (which follows the
/// measured round trip), then again with doubling intervals. After `skipAfter` requests the
/// receiver may skip it (`--retries 1:N`, opt-in: it corrupts a byte stream); with skipping off the
/// session waits, and `ReceiveStream`'s stall check ends it after the stall timeout.
///
/// A request names at most `maxRequestBytes` of the tail gap, its start: the tail is the gap that
/// reaches the peer's reported sent offset with nothing received after it (everything still in
/// flight on busy connections), and asking for all of it would resend the whole flight. Gaps
/// followed by payloads that arrived (a late, lost or silent connection's share) are asked for
/// whole, also when such a gap is the last one: with the sender's window full behind a silent
/// connection, asking for its share four payloads per backed-off request took 20 s. The rest of
/// the tail follows in later requests if it is really lost (a connection that died is resent by
/// the sender at once, without any request).
///
/// ```
///  gap seen ──retry timeout──▶ request #1 ──2×──▶ request #2 ──4×──▶ … ──skipAfter──▶ skip
/// ```
public struct RetryTracker: Sendable {
    /// What to do about the gaps now.
    public enum Action: Hashable, Sendable {
        /// Ask the sender for these ranges again.
        case requestResend([Range<UInt64>])
        /// Give up on this range: deliver what follows it (only with skipping on).
        case skip(Range<UInt64>)
    }

    private struct Gap: Sendable {
        var range: Range<UInt64>
        var firstSeen: NIODeadline
        var lastRequest: NIODeadline?
        var requests: Int
    }

    /// Requests after which a gap is skipped; `nil` never skips.
    public let skipAfter: Int?
    /// The most ranges named in one request.
    public let maxRangesPerRequest: Int
    private var gaps: [Gap] = []
    /// Ranges asked for again so far.
    public private(set) var requestedRanges = 0
    /// Ranges given up on so far.
    public private(set) var skippedRanges = 0

    /// The most bytes of the last (tail) gap named in one request (`nil`: the whole gap).
    public let maxRequestBytes: UInt64?

    /// A tracker skipping after `skipAfter` requests (`nil`: never), asking for at most
    /// `maxRequestBytes` of a gap at a time.
    public init(skipAfter: Int?, maxRangesPerRequest: Int = 16, maxRequestBytes: UInt64? = nil) {
        self.skipAfter = skipAfter.map { max(0, $0) }
        self.maxRangesPerRequest = max(1, maxRangesPerRequest)
        self.maxRequestBytes = maxRequestBytes.map { max(1, $0) }
    }

    /// The ranges currently missing, oldest first.
    public var missingRanges: [Range<UInt64>] { self.gaps.map(\.range) }

    /// Updates the gaps from the receiver's state: `missing` are the ranges now missing (in
    /// order), then returns what to do at `now` with `timeout` as the retry timeout. `tailEnd` is
    /// the peer's reported sent offset: only a last gap reaching it is the tail, capped at
    /// `maxRequestBytes` (`nil`: the last gap always is).
    public mutating func update(
        missing: [Range<UInt64>],
        now: NIODeadline,
        timeout: TimeAmount,
        tailEnd: UInt64? = nil
    ) -> [Action] {
        self.merge(missing, now: now)
        var toRequest: [Range<UInt64>] = []
        var actions: [Action] = []
        var index = 0
        while index < self.gaps.count {
            var gap = self.gaps[index]
            let wait = gap.lastRequest.map { _ in Self.backoff(timeout, requests: gap.requests) } ?? timeout
            let since = gap.lastRequest ?? gap.firstSeen
            if now - since >= wait {
                if let skipAfter = self.skipAfter, gap.requests >= skipAfter {
                    actions.append(.skip(gap.range))
                    self.skippedRanges += 1
                    self.gaps.remove(at: index)
                    continue
                }
                if toRequest.count < self.maxRangesPerRequest {
                    let isTail = index == self.gaps.count - 1 && tailEnd.map { gap.range.upperBound >= $0 } ?? true
                    let cap = isTail ? self.maxRequestBytes : nil
                    let end = cap.map { min(gap.range.upperBound, gap.range.lowerBound + $0) } ?? gap.range.upperBound
                    toRequest.append(gap.range.lowerBound..<end)
                    gap.requests += 1
                    gap.lastRequest = now
                    self.requestedRanges += 1
                    self.gaps[index] = gap
                }
            }
            index += 1
        }
        if !toRequest.isEmpty { actions.insert(.requestResend(toRequest), at: 0) }
        return actions
    }

    /// Keeps the history of gaps that are still (partly) missing, adds new ones, and forgets
    /// those that arrived.
    private mutating func merge(_ missing: [Range<UInt64>], now: NIODeadline) {
        var merged: [Gap] = []
        for range in missing where !range.isEmpty {
            if let old = self.gaps.first(where: { $0.range.overlaps(range) }) {
                merged.append(
                    Gap(range: range, firstSeen: old.firstSeen, lastRequest: old.lastRequest, requests: old.requests))
            } else {
                merged.append(Gap(range: range, firstSeen: now, lastRequest: nil, requests: 0))
            }
        }
        self.gaps = merged
    }

    private static func backoff(_ timeout: TimeAmount, requests: Int) -> TimeAmount {
        .nanoseconds(timeout.nanoseconds << min(max(0, requests - 1), 6))
    }
}
