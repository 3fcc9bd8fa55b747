import NIOCore
import TCSplitterCore
import Testing

/// When the receiver asks for missing bytes again, and when it gives up.
@Suite struct RetryTrackerTests {
    @Test("a gap is asked for only once it is older than the retry timeout")
    func waitsForTimeout() {
        var tracker = RetryTracker(skipAfter: nil)
        #expect(tracker.update(missing: [100..<200], now: at(0), timeout: .milliseconds(50)).isEmpty)
        #expect(tracker.update(missing: [100..<200], now: at(49), timeout: .milliseconds(50)).isEmpty)
        #expect(
            tracker.update(missing: [100..<200], now: at(50), timeout: .milliseconds(50)) == [
                .requestResend([100..<200])
            ])
        #expect(tracker.requestedRanges == 1)
    }

    @Test("requests repeat with doubling intervals")
    func backoff() {
        var tracker = RetryTracker(skipAfter: nil)
        _ = tracker.update(missing: [0..<10], now: at(0), timeout: .milliseconds(100))
        #expect(
            tracker.update(missing: [0..<10], now: at(100), timeout: .milliseconds(100)) == [.requestResend([0..<10])])
        #expect(tracker.update(missing: [0..<10], now: at(199), timeout: .milliseconds(100)).isEmpty)
        #expect(
            tracker.update(missing: [0..<10], now: at(200), timeout: .milliseconds(100)) == [.requestResend([0..<10])])
        #expect(tracker.update(missing: [0..<10], now: at(399), timeout: .milliseconds(100)).isEmpty)
        #expect(
            tracker.update(missing: [0..<10], now: at(400), timeout: .milliseconds(100)) == [.requestResend([0..<10])])
    }

    @Test("a gap that arrived is forgotten; a new one starts its own clock")
    func forgetsFilledGaps() {
        var tracker = RetryTracker(skipAfter: nil)
        _ = tracker.update(missing: [0..<10], now: at(0), timeout: .milliseconds(50))
        #expect(tracker.update(missing: [], now: at(40), timeout: .milliseconds(50)).isEmpty)
        #expect(tracker.missingRanges.isEmpty)
        #expect(tracker.update(missing: [20..<30], now: at(60), timeout: .milliseconds(50)).isEmpty)
        #expect(
            tracker.update(missing: [20..<30], now: at(110), timeout: .milliseconds(50)) == [.requestResend([20..<30])])
    }

    @Test("with skip N, a gap is skipped after N unanswered requests; without it, never")
    func skipping() {
        var skipping = RetryTracker(skipAfter: 2)
        var never = RetryTracker(skipAfter: nil)
        var actions: [RetryTracker.Action] = []
        var neverActions: [RetryTracker.Action] = []
        for ms in stride(from: 0, through: 10_000, by: 10) {
            actions += skipping.update(
                missing: skipping.missingRanges.isEmpty && !actions.contains(.skip(0..<5))
                    ? [0..<5] : skipping.missingRanges, now: at(Int64(ms)), timeout: .milliseconds(10))
            neverActions += never.update(missing: [0..<5], now: at(Int64(ms)), timeout: .milliseconds(10))
        }
        #expect(actions.filter { if case .requestResend = $0 { return true } else { return false } }.count == 2)
        #expect(actions.last == .skip(0..<5))
        #expect(skipping.skippedRanges == 1)
        #expect(!neverActions.contains(.skip(0..<5)))
        #expect(never.skippedRanges == 0)
    }

    @Test("skip 0 gives up at the first timeout without asking")
    func skipZero() {
        var tracker = RetryTracker(skipAfter: 0)
        _ = tracker.update(missing: [7..<9], now: at(0), timeout: .milliseconds(20))
        #expect(tracker.update(missing: [7..<9], now: at(20), timeout: .milliseconds(20)) == [.skip(7..<9)])
    }

    @Test("one request names at most the configured number of ranges")
    func rangeLimit() {
        var tracker = RetryTracker(skipAfter: nil, maxRangesPerRequest: 3)
        let gaps: [Range<UInt64>] = (0..<5).map { UInt64($0 * 100)..<UInt64($0 * 100 + 10) }
        _ = tracker.update(missing: gaps, now: at(0), timeout: .milliseconds(10))
        #expect(
            tracker.update(missing: gaps, now: at(10), timeout: .milliseconds(10)) == [
                .requestResend(Array(gaps.prefix(3)))
            ])
        #expect(
            tracker.update(missing: gaps, now: at(11), timeout: .milliseconds(10)) == [
                .requestResend(Array(gaps.suffix(2)))
            ])
    }
}

/// The retry timeout follows the measured round trip.
@Suite struct RoundTripEstimatorTests {
    @Test("before a sample the initial timeout applies; after, srtt + 4 x rttvar, clamped")
    func timeout() {
        var estimator = RoundTripEstimator(
            initialTimeout: .milliseconds(500),
            minimumTimeout: .milliseconds(50),
            maximumTimeout: .seconds(2)
        )
        #expect(estimator.retryTimeout == .milliseconds(500))
        estimator.add(sample: .milliseconds(100))
        #expect(estimator.smoothed == .milliseconds(100))
        #expect(estimator.retryTimeout == .milliseconds(300))  // 100 + 4 x 50
        for _ in 0..<50 { estimator.add(sample: .milliseconds(100)) }
        #expect(estimator.retryTimeout < .milliseconds(110))
        #expect(estimator.retryTimeout >= .milliseconds(100))
        var tiny = RoundTripEstimator(minimumTimeout: .milliseconds(50))
        tiny.add(sample: .microseconds(30))
        #expect(tiny.retryTimeout == .milliseconds(50))
        var huge = RoundTripEstimator(maximumTimeout: .seconds(2))
        huge.add(sample: .seconds(5))
        #expect(huge.retryTimeout == .seconds(2))
    }

    @Test("a gap is asked for after twice the least round trip, however the smoothed one grows")
    func requestTimeout() {
        var estimator = RoundTripEstimator(minimumTimeout: .milliseconds(50))
        #expect(estimator.requestTimeout == estimator.retryTimeout)  // nothing measured yet
        estimator.add(sample: .milliseconds(50))
        #expect(estimator.requestTimeout == .milliseconds(100))
        // The sync connection queues behind loaded data connections: its samples balloon.
        for sample in [300, 600, 150, 700, 400] { estimator.add(sample: .milliseconds(Int64(sample))) }
        #expect(estimator.least == .milliseconds(50))
        #expect(estimator.retryTimeout > .milliseconds(500))
        #expect(estimator.requestTimeout == .milliseconds(100))
        // Never below the minimum (loopback), never above the retry timeout.
        var loopback = RoundTripEstimator(minimumTimeout: .milliseconds(50))
        loopback.add(sample: .microseconds(40))
        #expect(loopback.requestTimeout == .milliseconds(50))
        var steady = RoundTripEstimator(minimumTimeout: .milliseconds(10))
        for _ in 0..<100 { steady.add(sample: .milliseconds(100)) }
        #expect(steady.requestTimeout <= steady.retryTimeout)
    }
}

/// The sender keeps what the receiver may ask for again.
@Suite struct RetransmitBufferTests {
    static func payload(_ offset: UInt64, _ length: Int) -> OutboundPayload {
        OutboundPayload(offset: offset, data: .stream(offset: Int(offset), count: length), isEndOfStream: false)
    }

    @Test("payloads are held until acknowledged and handed out again in order, once each")
    func holdAndResend() {
        var buffer = RetransmitBuffer()
        for index in 0..<10 { buffer.keep(Self.payload(UInt64(index * 10), 10)) }
        #expect(buffer.heldBytes == 100)
        let again = buffer.payloads(overlapping: [35..<55, 15..<25])
        #expect(again.map(\.offset) == [10, 20, 30, 40, 50])
        #expect(again.first?.data.bytes == ByteBuffer.stream(offset: 10, count: 10).bytes)
        buffer.acknowledge(upTo: 40)
        #expect(buffer.count == 6)
        #expect(buffer.heldBytes == 60)
        #expect(buffer.payloads(overlapping: [0..<45]).map(\.offset) == [40])
    }

    @Test("selectively acknowledged payloads are not resent and free their bytes")
    func selective() {
        var buffer = RetransmitBuffer()
        for index in 0..<6 { buffer.keep(Self.payload(UInt64(index * 10), 10)) }
        buffer.acknowledgeSelectively([20..<40, 45..<60])
        #expect(buffer.heldBytes == 30)  // 20, 30 and 50 are held by the receiver; 40..<50 is not wholly inside
        #expect(buffer.payloads(overlapping: [0..<60]).map(\.offset) == [0, 10, 40])
        buffer.acknowledge(upTo: 60)
        #expect(buffer.heldBytes == 0)
        #expect(buffer.count == 0)
    }
}

/// The receiver's view of what is missing, what it holds, and skipping.
@Suite struct ReceiveStreamRetryTests {
    @Test("missing ranges lie between the stashed pieces and up to the peer's sent offset")
    func missing() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try stream.receive(offset: 0, data: .stream(offset: 0, count: 10), now: at(0))
        _ = try stream.receive(offset: 30, data: .stream(offset: 30, count: 10), now: at(0))
        _ = try stream.receive(offset: 40, data: .stream(offset: 40, count: 10), now: at(0))
        try stream.peerSent(upTo: 80, now: at(0))
        #expect(stream.missingRanges() == [10..<30, 50..<80])
        #expect(stream.heldRanges() == [30..<50])
    }

    @Test("skipping delivers what follows the gap and counts the skipped bytes as consumed")
    func skip() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try stream.receive(offset: 0, data: .stream(offset: 0, count: 10), now: at(0))
        _ = try stream.receive(offset: 20, data: .stream(offset: 20, count: 10), now: at(0))
        let ready = stream.skip(upTo: 20, now: at(1))
        #expect(ready.map(\.bytes) == [ByteBuffer.stream(offset: 20, count: 10).bytes])
        #expect(stream.deliveredOffset == 30)
        #expect(stream.skippedBytes == 10)
        #expect(stream.consumedOffset == 0)
        try stream.consumed(10)
        #expect(stream.consumedOffset == 20)  // the 10 skipped bytes count once those before them do
        try stream.consumed(10)
        #expect(stream.consumedOffset == 30)
        #expect(stream.missingRanges().isEmpty)
    }

    @Test("a request names at most maxRequestBytes of the last gap (the tail), earlier gaps whole; the rest follows")
    func requestCap() {
        var tracker = RetryTracker(skipAfter: nil, maxRequestBytes: 100)
        _ = tracker.update(missing: [0..<500, 2000..<3000], now: at(0), timeout: .milliseconds(50))
        let first = tracker.update(missing: [0..<500, 2000..<3000], now: at(50), timeout: .milliseconds(50))
        #expect(first == [.requestResend([0..<500, 2000..<2100])])
        // The start arrived; the rest of the tail keeps its history and is asked for after the backoff.
        let early = tracker.update(missing: [2100..<3000], now: at(60), timeout: .milliseconds(50))
        #expect(early.isEmpty)
        let next = tracker.update(missing: [2100..<3000], now: at(100), timeout: .milliseconds(50))
        #expect(next == [.requestResend([2100..<2200])])
    }

    @Test("a last gap followed by received bytes is not the tail: it is asked for whole")
    func interiorLastGapWhole() {
        var tracker = RetryTracker(skipAfter: nil, maxRequestBytes: 100)
        // The peer sent up to 5000; 3000..<5000 arrived (stashed), so 2000..<3000 is a silent
        // connection's share, not bytes in flight.
        _ = tracker.update(missing: [0..<500, 2000..<3000], now: at(0), timeout: .milliseconds(50), tailEnd: 5000)
        let first = tracker.update(
            missing: [0..<500, 2000..<3000], now: at(50), timeout: .milliseconds(50), tailEnd: 5000)
        #expect(first == [.requestResend([0..<500, 2000..<3000])])
        // A gap that reaches the sent offset is the tail, and capped.
        var tail = RetryTracker(skipAfter: nil, maxRequestBytes: 100)
        _ = tail.update(missing: [2000..<3000], now: at(0), timeout: .milliseconds(50), tailEnd: 3000)
        let capped = tail.update(missing: [2000..<3000], now: at(50), timeout: .milliseconds(50), tailEnd: 3000)
        #expect(capped == [.requestResend([2000..<2100])])
    }
}
