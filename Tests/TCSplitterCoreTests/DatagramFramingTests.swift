import NIOCore
import TCSplitterCore
import Testing

@Suite("UDP datagram framing")
struct DatagramFramingTests {
    private static func frame(_ bytes: [UInt8], position: Int = 0, payload: Int = 64) -> [UInt8] {
        DatagramFramer.frame(ByteBuffer(bytes), position: position, payloadBytes: payload).bytes
    }

    @Test("a small datagram is one whole chunk: kind 0xD3, u16 length, data")
    func wholeChunk() {
        #expect(Self.frame([1, 2, 3, 4, 5]) == [0xD3, 0x00, 0x05, 1, 2, 3, 4, 5])
    }

    @Test("an empty datagram is a whole chunk of length 0")
    func emptyDatagram() {
        #expect(Self.frame([]) == [0xD3, 0x00, 0x00])
    }

    @Test("fewer than a header and one byte left in a payload are padded with zero bytes")
    func padding() {
        #expect(Self.frame([9], position: 62) == [0x00, 0x00, 0xD3, 0x00, 0x01, 9])
        #expect(Self.frame([9], position: 61) == [0x00, 0x00, 0x00, 0xD3, 0x00, 0x01, 9])
        #expect(Self.frame([], position: 61) == [0xD3, 0x00, 0x00])
        #expect(Self.frame([9], position: 60) == [0xD3, 0x00, 0x01, 9])
    }

    @Test("a datagram larger than what is left of a payload is cut into first and last chunks at the boundary")
    func spanningChunks() {
        let data = (0..<100).map { UInt8($0) }
        let framed = Self.frame(data)
        let firstChunk: [UInt8] = [0xD1, 0x00, 61] + Array(data[0..<61])
        let lastChunk: [UInt8] = [0xD2, 0x00, 39] + Array(data[61...])
        #expect(framed == firstChunk + lastChunk)
        let three = Self.frame((0..<150).map { UInt8($0 % 256) }, position: 10)
        #expect(three[0] == 0xD1 && three[54] == 0xD0 && three[118] == 0xD2)
    }

    @Test("raw chunks rebuild datagrams whether fed whole or one byte at a time")
    func deframeRawBytes() throws {
        let stream: [UInt8] = [0xD3, 0, 2, 7, 8, 0x00, 0xD1, 0, 1, 5, 0x00, 0xD0, 0, 1, 6, 0xD2, 0, 0, 0xD3, 0, 0]
        var whole = DatagramDeframer()
        let out = try whole.append(ByteBuffer(stream))
        #expect(out.map(\.bytes) == [[7, 8], [5, 6], []])
        #expect(whole.takeFinishedBytes() == stream.count)
        var bytewise = DatagramDeframer()
        var pieces: [[UInt8]] = []
        for byte in stream { pieces += try bytewise.append(ByteBuffer([byte])).map(\.bytes) }
        #expect(pieces == [[7, 8], [5, 6], []])
    }

    @Test("bytes of a datagram still being assembled are not finished until it completes")
    func finishedBytesWaitForTheDatagram() throws {
        var deframer = DatagramDeframer()
        #expect(try deframer.append(ByteBuffer([0xD3, 0, 1, 1, 0xD1, 0, 1, 2])).map(\.bytes) == [[1]])
        #expect(deframer.takeFinishedBytes() == 4)
        #expect(try deframer.append(ByteBuffer([0xD2, 0, 1, 3])).map(\.bytes) == [[2, 3]])
        #expect(deframer.takeFinishedBytes() == 8)
    }

    @Test("a skip drops the datagram it cuts and the orphan chunks after it, then resyncs")
    func skipResyncs() throws {
        var deframer = DatagramDeframer()
        // [0..4) whole [4..8) first of a datagram; 8..<20 lost; [20..24) its last; [24..28) whole.
        #expect(try deframer.append(ByteBuffer([0xD3, 0, 1, 1, 0xD1, 0, 1, 2])).map(\.bytes) == [[1]])
        deframer.skipped(8..<20)
        #expect(deframer.droppedAtGaps == 1)
        #expect(deframer.takeFinishedBytes() == 8)
        #expect(try deframer.append(ByteBuffer([0xD2, 0, 1, 3, 0xD3, 0, 1, 4])).map(\.bytes) == [[4]])
        #expect(deframer.droppedAtGaps == 2)
        #expect(deframer.takeFinishedBytes() == 8)
        #expect(deframer.inputOffset == 28)
    }

    @Test("a skip announced before the bytes in front of it arrive is crossed where those bytes end")
    func skipAnnouncedEarly() throws {
        var deframer = DatagramDeframer()
        deframer.skipped(4..<8)
        let out = try deframer.append(ByteBuffer([0xD3, 0, 1, 1]))
        #expect(out.map(\.bytes) == [[1]])
        #expect(deframer.inputOffset == 8)
        #expect(try deframer.append(ByteBuffer([0xD3, 0, 1, 2])).map(\.bytes) == [[2]])
        #expect(deframer.droppedAtGaps == 0)
    }

    @Test("malformed streams are refused: unknown kind, orphan chunk without a skip, unfinished datagram, oversize")
    func malformed() {
        var unknown = DatagramDeframer()
        #expect(throws: DatagramFramingError.unknownKind(0x41, offset: 0)) {
            try unknown.append(ByteBuffer([0x41, 0, 0]))
        }
        var orphan = DatagramDeframer()
        #expect(throws: DatagramFramingError.orphanContinuation(offset: 0)) {
            try orphan.append(ByteBuffer([0xD2, 0, 0]))
        }
        var unfinished = DatagramDeframer()
        #expect(throws: DatagramFramingError.unfinishedDatagram(offset: 4)) {
            try unfinished.append(ByteBuffer([0xD1, 0, 1, 1, 0xD3, 0, 0]))
        }
        var large = DatagramDeframer()
        let big = [UInt8](repeating: 7, count: 40_000)
        #expect(throws: DatagramFramingError.datagramTooLarge(bytes: 80_000, offset: 40_003)) {
            try large.append(ByteBuffer([0xD1] + be(UInt16(40_000)) + big + [0xD2] + be(UInt16(40_000)) + big))
        }
    }

    @Test(
        "random datagrams through the packer with tail cuts and lost payloads: every payload starts at a chunk, survivors arrive exact and in order",
        arguments: [64, 100, 1400, 10_000]
    )
    func randomThroughPacker(payloadBytes: Int) throws {
        var random = SplitMix64(seed: UInt64(payloadBytes))
        var send = SendStream(payloadBytes: payloadBytes, windowBytes: 1 << 30)
        var datagrams: [(bytes: [UInt8], range: Range<UInt64>)] = []
        var payloads: [OutboundPayload] = []
        for index in 0..<400 {
            let size = Int.random(in: 0...(index % 50 == 0 ? 65_507 : 3000), using: &random)
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let start = send.packedOffset + UInt64(send.pendingBytes)
            let framed = DatagramFramer.frame(
                ByteBuffer(bytes),
                position: send.pendingBytes % payloadBytes,
                payloadBytes: payloadBytes
            )
            let padding = framed.bytes.prefix(while: { $0 == 0 }).count
            send.append(framed)
            datagrams.append((bytes, (start + UInt64(padding))..<(start + UInt64(framed.readableBytes))))
            payloads += send.takePayloads(includeTail: Int.random(in: 0..<4, using: &random) == 0)
        }
        payloads += send.takePayloads(includeTail: true)
        for payload in payloads {
            let kind = payload.data.getInteger(at: payload.data.readerIndex, as: UInt8.self)!
            #expect(kind == 0 || kind & 0xFC == 0xD0, "payload at \(payload.offset) starts inside a chunk")
        }
        var lost: [Range<UInt64>] = []
        var deframer = DatagramDeframer()
        var received: [[UInt8]] = []
        var finished = 0
        for payload in payloads {
            if Int.random(in: 0..<10, using: &random) == 0 {
                let range = payload.offset..<(payload.offset + UInt64(payload.data.readableBytes))
                lost.append(range)
                deframer.skipped(range)
            } else {
                // Split each payload at a random point, as the forwarder may.
                var data = payload.data
                let cut = Int.random(in: 0...data.readableBytes, using: &random)
                received += try deframer.append(data.readSlice(length: cut)!).map(\.bytes)
                received += try deframer.append(data).map(\.bytes)
            }
            finished += deframer.takeFinishedBytes()
        }
        let expected = datagrams.filter { datagram in !lost.contains(where: { $0.overlaps(datagram.range) }) }.map(
            \.bytes)
        #expect(received == expected)
        #expect(deframer.datagrams == expected.count)
        #expect(deframer.droppedAtGaps > 0)
        let lostBytes = lost.reduce(0) { $0 + Int($1.count) }
        #expect(finished + lostBytes == Int(send.packedOffset))
    }

    @Test("the largest framed datagram fits the bound the window is checked against")
    func framedBound() {
        for payload in [64, 65, 100, 1400, 10_000, 1 << 20] {
            for position in [0, 1, payload / 2, payload - 4, payload - 1] {
                let framed = DatagramFramer.frame(
                    ByteBuffer(repeating: 1, count: DatagramChunk.maxDatagramBytes),
                    position: position,
                    payloadBytes: payload
                )
                #expect(framed.readableBytes <= DatagramChunk.maxFramedBytes(payloadBytes: payload))
            }
        }
    }
}

@Suite("UDP gap policy")
struct DatagramGapPolicyTests {
    @Test("with no broken connection a gap is waited for up to the silent wait: a late payload is not a loss")
    func noLossWaitsLonger() {
        var policy = DatagramGapPolicy()
        let wait = TimeAmount.milliseconds(100)
        #expect(
            policy.update(missing: [10..<20], now: at(0), wait: wait, lastLoss: nil, silentWait: .seconds(2)).isEmpty)
        #expect(
            policy.update(missing: [10..<20], now: at(1999), wait: wait, lastLoss: nil, silentWait: .seconds(2)).isEmpty
        )
        #expect(
            policy.update(missing: [10..<20], now: at(2000), wait: wait, lastLoss: nil, silentWait: .seconds(2)) == [
                10..<20
            ])
    }

    @Test("a connection broken well before the gap appeared does not explain it; one broken after does")
    func lossMustBeRecent() {
        var policy = DatagramGapPolicy()
        let wait = TimeAmount.milliseconds(100)
        _ = policy.update(missing: [10..<20], now: at(1000), wait: wait, lastLoss: at(850), silentWait: .seconds(2))
        #expect(
            policy.update(missing: [10..<20], now: at(1200), wait: wait, lastLoss: at(850), silentWait: .seconds(2))
                .isEmpty)
        // A connection that broke 50 ms before the gap was seen may have carried it.
        #expect(
            policy.update(missing: [10..<20], now: at(1200), wait: wait, lastLoss: at(950), silentWait: .seconds(2))
                == [10..<20])
        // One that breaks after the gap appeared explains it too.
        _ = policy.update(missing: [30..<40], now: at(1300), wait: wait, lastLoss: at(950), silentWait: .seconds(2))
        #expect(
            policy.update(missing: [30..<40], now: at(1450), wait: wait, lastLoss: at(1400), silentWait: .seconds(2))
                == [30..<40])
    }

    @Test("a gap is skipped once it has been missing for the wait, not before")
    func waitsThenSkips() {
        var policy = DatagramGapPolicy()
        #expect(
            policy.update(
                missing: [10..<20], now: at(0), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2)
            ).isEmpty)
        #expect(
            policy.update(
                missing: [10..<20], now: at(99), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2)
            ).isEmpty)
        #expect(
            policy.update(
                missing: [10..<20], now: at(100), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
                == [10..<20])
        #expect(policy.skippedRanges == 1)
    }

    @Test("only leading gaps are skipped, in order: a young gap holds back the old ones after it")
    func leadingOnly() {
        var policy = DatagramGapPolicy()
        _ = policy.update(
            missing: [30..<40], now: at(0), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
        _ = policy.update(
            missing: [10..<20, 30..<40], now: at(50), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2)
        )
        #expect(
            policy.update(
                missing: [10..<20, 30..<40], now: at(120), wait: .milliseconds(100), lastLoss: at(0),
                silentWait: .seconds(2)
            ).isEmpty)
        #expect(
            policy.update(
                missing: [10..<20, 30..<40], now: at(150), wait: .milliseconds(100), lastLoss: at(0),
                silentWait: .seconds(2)) == [10..<20, 30..<40])
    }

    @Test("a gap partly filled keeps its age; a filled gap is forgotten")
    func ageKept() {
        var policy = DatagramGapPolicy()
        _ = policy.update(
            missing: [10..<20], now: at(0), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
        #expect(
            policy.update(
                missing: [15..<20], now: at(100), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
                == [15..<20])
        _ = policy.update(
            missing: [40..<50], now: at(200), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
        _ = policy.update(missing: [], now: at(250), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2))
        #expect(
            policy.update(
                missing: [40..<50], now: at(300), wait: .milliseconds(100), lastLoss: at(0), silentWait: .seconds(2)
            ).isEmpty)
    }
}
