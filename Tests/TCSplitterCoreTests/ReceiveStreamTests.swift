import NIOCore
import TCSplitterCore
import Testing

/// Reassembly by offset: order, duplicates, overlaps, the window, the final offset and stalls.
@Suite struct ReceiveStreamTests {
    /// Feeds stream bytes `offset..<offset+count` (valued as `ByteBuffer.stream`) and returns what came out.
    static func feed(
        _ stream: inout ReceiveStream,
        _ offset: Int,
        _ count: Int,
        end: Bool = false,
        now: NIODeadline = at(0)
    ) throws -> [UInt8] {
        joined(
            try stream.receive(
                offset: UInt64(offset), data: .stream(offset: offset, count: count), isEndOfStream: end, now: now))
    }

    /// The stream bytes `range`, as `feed` sends them.
    static func bytes(_ range: Range<Int>) -> [UInt8] {
        ByteBuffer.stream(offset: range.lowerBound, count: range.count).bytes
    }

    @Test("in-order payloads are handed out at once")
    func inOrder() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        #expect(try Self.feed(&stream, 0, 10) == Self.bytes(0..<10))
        #expect(try Self.feed(&stream, 10, 5) == Self.bytes(10..<15))
        #expect(stream.deliveredOffset == 15)
        #expect(stream.knownSentOffset == 15)
        #expect(stream.stashedBytes == 0)
        #expect(stream.firstGap == nil)
    }

    @Test("a payload after a gap waits, and comes out right after the gap is filled")
    func reordering() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        #expect(try Self.feed(&stream, 10, 10).isEmpty)
        #expect(stream.stashedBytes == 10)
        #expect(stream.firstGap == 0..<10)
        #expect(try Self.feed(&stream, 30, 5).isEmpty)
        #expect(stream.firstGap == 0..<10)
        #expect(try Self.feed(&stream, 0, 10) == Self.bytes(0..<20))
        #expect(stream.firstGap == 20..<30)
        #expect(try Self.feed(&stream, 20, 10) == Self.bytes(20..<35))
        #expect(stream.deliveredOffset == 35)
        #expect(stream.stashedBytes == 0)
        #expect(stream.firstGap == nil)
    }

    @Test("payloads in reverse order come out whole, as separate buffers in order")
    func reverseOrder() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        for start in stride(from: 90, through: 10, by: -10) {
            #expect(try Self.feed(&stream, start, 10).isEmpty)
        }
        let ready = try stream.receive(offset: 0, data: .stream(offset: 0, count: 10), now: at(0))
        #expect(ready.count == 10)
        #expect(joined(ready) == Self.bytes(0..<100))
    }

    @Test("a payload received twice is delivered once and counted")
    func duplicates() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 0, 10)
        #expect(try Self.feed(&stream, 0, 10).isEmpty)
        #expect(stream.duplicatePayloads == 1)
        // A duplicate of a stashed payload is dropped too.
        _ = try Self.feed(&stream, 20, 10)
        #expect(try Self.feed(&stream, 20, 10).isEmpty)
        #expect(stream.duplicatePayloads == 2)
        #expect(stream.stashedBytes == 10)
        #expect(try Self.feed(&stream, 10, 10) == Self.bytes(10..<30))
        #expect(stream.deliveredOffset == 30)
    }

    @Test("an empty payload delivers nothing and is not a duplicate")
    func emptyPayload() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        #expect(try Self.feed(&stream, 0, 0).isEmpty)
        _ = try Self.feed(&stream, 0, 5)
        #expect(try Self.feed(&stream, 5, 0).isEmpty)
        #expect(try Self.feed(&stream, 2, 0).isEmpty)
        #expect(stream.duplicatePayloads == 0)
        #expect(stream.deliveredOffset == 5)
        #expect(try Self.feed(&stream, 5, 5) == Self.bytes(5..<10))
    }

    @Test("empty payloads past a gap are not stashed: the gap ends at the first real bytes")
    func emptyPayloadNotStashed() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 60, 10)
        for offset in stride(from: 10, to: 60, by: 10) {
            _ = try Self.feed(&stream, offset, 0)
        }
        #expect(stream.firstGap == 0..<60)
        #expect(try Self.feed(&stream, 0, 60) == Self.bytes(0..<70))
    }

    @Test("a payload overlapping delivered bytes hands out only its new part")
    func overlapWithDelivered() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 0, 10)
        #expect(try Self.feed(&stream, 5, 10) == Self.bytes(10..<15))
        #expect(try Self.feed(&stream, 0, 15).isEmpty)
        #expect(stream.deliveredOffset == 15)
    }

    @Test("stashed pieces cut differently are trimmed so no byte comes out twice")
    func overlapInStash() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 10, 10)  // 10..<20
        _ = try Self.feed(&stream, 15, 15)  // 15..<30, overlaps the first
        _ = try Self.feed(&stream, 25, 20)  // 25..<45
        _ = try Self.feed(&stream, 12, 3)  // 12..<15, inside the first
        #expect(try Self.feed(&stream, 0, 10) == Self.bytes(0..<45))
        #expect(stream.deliveredOffset == 45)
        #expect(stream.stashedBytes == 0)
        #expect(stream.firstGap == nil)
    }

    @Test("an in-order payload that covers part of a stashed one delivers the stashed rest once")
    func inOrderCoversStash() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 5, 10)  // 5..<15
        #expect(try Self.feed(&stream, 0, 12) == Self.bytes(0..<15))
        _ = try Self.feed(&stream, 20, 5)  // 20..<25
        #expect(try Self.feed(&stream, 15, 20) == Self.bytes(15..<35))  // covers the stashed piece entirely
        #expect(stream.stashedBytes == 0)
        #expect(stream.deliveredOffset == 35)
    }

    @Test("a longer payload at a stashed offset replaces the shorter one")
    func longerReplacesShorter() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 10, 5)
        _ = try Self.feed(&stream, 10, 20)
        #expect(stream.stashedBytes == 20)
        _ = try Self.feed(&stream, 10, 8)
        #expect(stream.stashedBytes == 20)
        #expect(stream.duplicatePayloads == 1)
        #expect(try Self.feed(&stream, 0, 10) == Self.bytes(0..<30))
        #expect(stream.stashedBytes == 0)
    }

    @Test("bytes beyond consumed + window are refused, and consuming moves the limit")
    func windowLimit() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        #expect(try Self.feed(&stream, 90, 10).isEmpty)  // ends exactly at the limit
        #expect(throws: ReceiveStreamError.beyondWindow(offset: 95, length: 6, limit: 100)) {
            _ = try Self.feed(&stream, 95, 6)
        }
        #expect(stream.knownSentOffset == 100)
        #expect(try Self.feed(&stream, 0, 50) == Self.bytes(0..<50))
        // Delivered but not consumed bytes still count against the window.
        #expect(throws: ReceiveStreamError.beyondWindow(offset: 100, length: 1, limit: 100)) {
            _ = try Self.feed(&stream, 100, 1)
        }
        try stream.consumed(30)
        #expect(stream.consumedOffset == 30)
        #expect(try Self.feed(&stream, 100, 30).isEmpty)
        #expect(throws: ReceiveStreamError.beyondWindow(offset: 130, length: 1, limit: 130)) {
            _ = try Self.feed(&stream, 130, 1)
        }
    }

    @Test("consuming more than was delivered is refused")
    func consumedTooMuch() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 0, 10)
        _ = try Self.feed(&stream, 20, 10)
        try stream.consumed(4)
        try stream.consumed(6)
        #expect(throws: ReceiveStreamError.consumedUndeliveredBytes) { try stream.consumed(1) }
        #expect(stream.consumedOffset == 10)
    }

    @Test("an end-of-stream payload sets the final offset; the stream is complete once all is delivered and consumed")
    func endOfStream() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        #expect(try Self.feed(&stream, 10, 5, end: true).isEmpty)
        #expect(stream.finalOffset == 15)
        #expect(!stream.isComplete)
        #expect(try Self.feed(&stream, 0, 10) == Self.bytes(0..<15))
        #expect(stream.isComplete)
        #expect(!stream.isConsumed)
        try stream.consumed(15)
        #expect(stream.isConsumed)
    }

    @Test("an announced final offset (finish) completes the stream when the bytes arrive")
    func finishFirst() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        try stream.setFinalOffset(20, now: at(0))
        #expect(stream.knownSentOffset == 20)
        #expect(!stream.isComplete)
        _ = try Self.feed(&stream, 0, 20)
        #expect(stream.isComplete)
        // The same final offset again, by payload or by finish, is fine.
        _ = try Self.feed(&stream, 10, 10, end: true)
        try stream.setFinalOffset(20, now: at(0))
        #expect(stream.finalOffset == 20)
    }

    @Test("an empty stream ends at zero")
    func emptyStream() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        #expect(!stream.isComplete)
        try stream.setFinalOffset(0, now: at(0))
        #expect(stream.isComplete)
        #expect(stream.isConsumed)
    }

    @Test("bytes past the final offset are refused")
    func beyondFinal() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        try stream.setFinalOffset(20, now: at(0))
        #expect(throws: ReceiveStreamError.beyondFinalOffset(offset: 15, length: 10, finalOffset: 20)) {
            _ = try Self.feed(&stream, 15, 10)
        }
        #expect(stream.stashedBytes == 0)
    }

    @Test("a second, different final offset is a conflict, in either direction")
    func conflictingFinal() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 0, 10, end: true)
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(12)) { try stream.setFinalOffset(12, now: at(0)) }
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(8)) { try stream.setFinalOffset(8, now: at(0)) }
        #expect(throws: ReceiveStreamError.beyondFinalOffset(offset: 5, length: 10, finalOffset: 10)) {
            _ = try Self.feed(&stream, 5, 10, end: true)
        }
        #expect(stream.finalOffset == 10)
    }

    @Test("a final offset below bytes already delivered or known to be sent is a conflict")
    func finalBelowReceived() throws {
        var delivered = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&delivered, 0, 10)
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(9)) { try delivered.setFinalOffset(9, now: at(0)) }
        // An end-of-stream payload inside delivered bytes ends before them.
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(5)) { _ = try Self.feed(&delivered, 0, 5, end: true) }

        var stashed = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stashed, 30, 10)
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(35)) { try stashed.setFinalOffset(35, now: at(0)) }
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(20)) {
            _ = try Self.feed(&stashed, 10, 10, end: true)
        }

        var reported = ReceiveStream(windowBytes: 100, now: at(0))
        try reported.peerSent(upTo: 50, now: at(0))
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(40)) { try reported.setFinalOffset(40, now: at(0)) }
        #expect(reported.finalOffset == nil)
    }

    @Test("a sent offset reported past the final offset is a conflict; up to it is fine")
    func peerSentPastFinal() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        try stream.setFinalOffset(20, now: at(0))
        try stream.peerSent(upTo: 20, now: at(0))
        #expect(throws: ReceiveStreamError.conflictingFinalOffset(21)) { try stream.peerSent(upTo: 21, now: at(0)) }
        #expect(stream.knownSentOffset == 20)
    }

    @Test("the known sent offset only grows")
    func knownSentGrows() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        try stream.peerSent(upTo: 40, now: at(0))
        try stream.peerSent(upTo: 10, now: at(0))
        _ = try Self.feed(&stream, 0, 5)
        #expect(stream.knownSentOffset == 40)
        #expect(stream.firstGap == 5..<40)
    }

    @Test("a stream with nothing missing is never stalled, however long it is quiet")
    func quietIsNotStalled() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        #expect(!stream.isStalled(now: at(3_600_000), timeout: .seconds(30)))
        _ = try Self.feed(&stream, 0, 10, now: at(0))
        #expect(!stream.isStalled(now: at(3_600_000), timeout: .seconds(30)))
    }

    @Test("a gap is stalled only once it has been missing for longer than the timeout")
    func stallAfterTimeout() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 10, 10, now: at(0))
        #expect(!stream.isStalled(now: at(29_999), timeout: .seconds(30)))
        #expect(!stream.isStalled(now: at(30_000), timeout: .seconds(30)))
        #expect(stream.isStalled(now: at(30_001), timeout: .seconds(30)))
        // Filling the gap ends the stall.
        _ = try Self.feed(&stream, 0, 10, now: at(30_002))
        #expect(!stream.isStalled(now: at(90_000), timeout: .seconds(30)))
    }

    @Test("in-order progress restarts the stall clock while a later gap is open")
    func progressRestartsClock() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try Self.feed(&stream, 100, 10, now: at(0))  // gap 0..<100
        for step in 0..<10 {
            _ = try Self.feed(&stream, step * 10, 10, now: at(Int64(step + 1) * 20_000))
            #expect(!stream.isStalled(now: at(Int64(step + 1) * 20_000 + 25_000), timeout: .seconds(30)))
        }
        #expect(stream.deliveredOffset == 110)
    }

    @Test("a gap that opens after a long quiet spell gets the full timeout")
    func gapAfterQuietSpell() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 0, 10, now: at(0))
        // Ten quiet minutes, then a payload overtakes its predecessor.
        _ = try Self.feed(&stream, 20, 10, now: at(600_000))
        #expect(!stream.isStalled(now: at(600_001), timeout: .seconds(30)))
        #expect(stream.isStalled(now: at(630_001), timeout: .seconds(30)))
    }

    @Test("a gap known only from the peer's progress report gets the full timeout too")
    func gapFromReportAfterQuietSpell() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 0, 10, now: at(0))
        try stream.peerSent(upTo: 20, now: at(600_000))
        #expect(stream.firstGap == 10..<20)
        #expect(!stream.isStalled(now: at(600_001), timeout: .seconds(30)))
        // A later report of the same gap does not restart the clock.
        try stream.peerSent(upTo: 20, now: at(620_000))
        #expect(stream.isStalled(now: at(630_001), timeout: .seconds(30)))
    }

    @Test("a finish that overtakes the last payload after a quiet spell gets the full timeout")
    func gapFromFinishAfterQuietSpell() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 0, 10, now: at(0))
        try stream.setFinalOffset(15, now: at(600_000))
        #expect(!stream.isStalled(now: at(600_500), timeout: .seconds(30)))
        #expect(stream.isStalled(now: at(630_001), timeout: .seconds(30)))
        // The same for an end-of-stream payload that overtakes its predecessor.
        var other = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&other, 0, 10, now: at(0))
        _ = try Self.feed(&other, 20, 5, end: true, now: at(600_000))
        #expect(!other.isStalled(now: at(600_500), timeout: .seconds(30)))
        #expect(other.isStalled(now: at(630_001), timeout: .seconds(30)))
    }

    @Test("a gap that grows does not restart the stall clock")
    func growingGapKeepsClock() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 10, 10, now: at(0))
        _ = try Self.feed(&stream, 30, 10, now: at(20_000))
        #expect(stream.isStalled(now: at(30_001), timeout: .seconds(30)))
    }

    @Test("overlapping stashed pieces count in full, so the stash never holds more than the window")
    func stashBound() throws {
        var stream = ReceiveStream(windowBytes: 100, now: at(0))
        _ = try Self.feed(&stream, 1, 60)  // 1..<61
        _ = try Self.feed(&stream, 2, 40)  // 2..<42: 100 bytes stashed
        #expect(stream.stashedBytes == 100)
        _ = try Self.feed(&stream, 3, 1)  // would be 101: dropped
        #expect(stream.stashedBytes == 100)
        #expect(stream.duplicatePayloads == 1)
        // A longer replacement that would overflow is dropped, and the shorter piece stays counted.
        _ = try Self.feed(&stream, 2, 45)
        #expect(stream.stashedBytes == 100)
        #expect(stream.duplicatePayloads == 2)
        #expect(try Self.feed(&stream, 0, 1) == Self.bytes(0..<61))
        #expect(stream.stashedBytes == 0)
        #expect(stream.firstGap == nil)
    }

    @Test("a shuffled, partly duplicated 1 MiB stream comes out exactly as sent", arguments: [1, 2, 3] as [UInt64])
    func randomizedReassembly(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let size = 1 << 20
        var input = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            withUnsafeBytes(of: generator.next()) { input.replaceSubrange(index..<index + 8, with: $0) }
        }
        let source = ByteBuffer(bytes: input)

        // Cut into payloads of 1...4096 bytes, duplicate about one in eight, shuffle.
        var payloads: [(offset: Int, count: Int)] = []
        var offset = 0
        while offset < size {
            let count = min(Int.random(in: 1...4096, using: &generator), size - offset)
            payloads.append((offset, count))
            offset += count
        }
        let duplicates = payloads.filter { _ in generator.next() % 8 == 0 }
        var arrivals = payloads + duplicates
        arrivals.shuffle(using: &generator)

        var stream = ReceiveStream(windowBytes: size, now: at(0))
        var output: [UInt8] = []
        output.reserveCapacity(size)
        for (step, payload) in arrivals.enumerated() {
            let data = source.getSlice(at: payload.offset, length: payload.count)!
            let ready = try stream.receive(
                offset: UInt64(payload.offset),
                data: data,
                isEndOfStream: payload.offset + payload.count == size,
                now: at(Int64(step))
            )
            for buffer in ready {
                output.append(contentsOf: buffer.readableBytesView)
                try stream.consumed(buffer.readableBytes)
            }
        }
        #expect(output.count == size)
        #expect(output == input)
        #expect(stream.isComplete)
        #expect(stream.isConsumed)
        #expect(stream.stashedBytes == 0)
        #expect(stream.duplicatePayloads == duplicates.count)
    }

    @Test("two different cuttings of one stream, interleaved at random, come out exactly once")
    func randomizedDifferentCuts() throws {
        var generator = SplitMix64(seed: 0xC075)
        let size = 256 << 10
        let source = ByteBuffer.stream(offset: 0, count: size)
        var arrivals: [(offset: Int, count: Int)] = []
        for maxCut in [1500, 4000] {
            var offset = 0
            while offset < size {
                let count = min(Int.random(in: 1...maxCut, using: &generator), size - offset)
                arrivals.append((offset, count))
                offset += count
            }
        }
        arrivals.shuffle(using: &generator)

        // Overlapping pieces count in full in the stash, so give it room for both cuttings.
        var stream = ReceiveStream(windowBytes: 2 * size, now: at(0))
        try stream.setFinalOffset(UInt64(size), now: at(0))
        var output: [UInt8] = []
        for payload in arrivals {
            let data = source.getSlice(at: payload.offset, length: payload.count)!
            let ready = try stream.receive(offset: UInt64(payload.offset), data: data, now: at(0))
            output += joined(ready)
        }
        #expect(output == source.bytes)
        #expect(stream.isComplete)
        #expect(stream.stashedBytes == 0)
    }

    @Test("bytes written together from before and after a skip count up to the skip, then after it")
    func consumedAcrossASkip() throws {
        var stream = ReceiveStream(windowBytes: 1000, now: at(0))
        _ = try stream.receive(offset: 0, data: .stream(offset: 0, count: 100), now: at(0))
        _ = try stream.receive(offset: 200, data: .stream(offset: 200, count: 50), now: at(0))
        let ready = stream.skip(upTo: 200, now: at(1))
        #expect(joined(ready) == ByteBuffer.stream(offset: 200, count: 50).bytes)
        #expect(stream.consumedOffset == 0)
        try stream.consumed(130)  // the 100 before the skip and 30 after it, in one write
        #expect(stream.consumedOffset == 230)
        try stream.consumed(20)
        #expect(stream.consumedOffset == 250)
        #expect(throws: ReceiveStreamError.consumedUndeliveredBytes) { try stream.consumed(1) }
    }
}
