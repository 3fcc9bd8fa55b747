import NIOCore
import TCSplitterCore
import Testing

/// Payload frames, byte for byte against the diagram in PayloadFrame.swift.
@Suite struct PayloadFrameTests {
    /// A payload body (after the envelope) with the given fields, written by hand.
    static func body(
        session: UInt64 = 1,
        offset: UInt64 = 0,
        group: UInt32 = 0,
        shardIndex: UInt8 = 0,
        dataShards: UInt8 = 0,
        parityShards: UInt8 = 0,
        flags: UInt8 = 0,
        data: [UInt8] = [0xAB]
    ) -> [UInt8] {
        be(session) + be(offset) + be(group) + [shardIndex, dataShards, parityShards, flags] + data
    }

    @Test("the header is session, offset, group, shard index, data shards, parity shards, flags, all big-endian")
    func rawLayout() {
        let bytes: [UInt8] = [
            0x54, 0x43, 0x02, 0x10, 0x00, 0x00, 0x00, 0x1B,  // envelope: payload, body 24 + 3
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // session id
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // offset
            0x21, 0x22, 0x23, 0x24,  // FEC group
            0x05, 0x04, 0x02, 0x02,  // shard 5 of 4 data + 2 parity, flags: parity
            0x61, 0x62, 0x63,  // data "abc"
        ]
        let header = PayloadHeader(
            sessionID: SessionID(rawValue: 0x0102_0304_0506_0708),
            offset: 0x1112_1314_1516_1718,
            group: 0x2122_2324,
            shardIndex: 5,
            dataShards: 4,
            parityShards: 2,
            flags: .parity
        )
        let frame = Frame.payload(PayloadFrame(header: header, data: ByteBuffer(Array("abc".utf8))))
        #expect(encoded(frame) == bytes)
        #expect(decodeWhole(bytes) == frame)
    }

    @Test("writePayloadFrameHeader writes envelope and fixed fields only, counting the data in the length")
    func headerWithoutData() {
        var buffer = ByteBuffer()
        let header = PayloadHeader(sessionID: SessionID(rawValue: 2), offset: 3, flags: .endOfStream)
        let written = buffer.writePayloadFrameHeader(header, dataBytes: 1000)
        #expect(written == 8 + 24)
        #expect(
            buffer.bytes == [0x54, 0x43, 0x02, 0x10] + be(UInt32(1024))
                + Self.body(session: 2, offset: 3, flags: 0x01, data: []))
    }

    @Test("flag bits: end of stream is bit 0, parity bit 1, push bit 2")
    func flagBits() {
        #expect(PayloadFlags.endOfStream.rawValue == 0x01)
        #expect(PayloadFlags.parity.rawValue == 0x02)
        #expect(PayloadFlags.push.rawValue == 0x04)
        #expect(PayloadFlags.known.rawValue == 0x07)
        let frame = decodeWhole(envelope(type: 0x10, body: Self.body(flags: 0x01)))
        guard case .payload(let payload) = frame else {
            Issue.record("expected a payload, got \(String(describing: frame))")
            return
        }
        #expect(payload.header.flags == .endOfStream)
    }

    @Test("unknown flag bits are rejected", arguments: [0x08, 0x10, 0x80, 0xFF] as [UInt8])
    func unknownFlags(flags: UInt8) {
        #expect(decodeError(envelope(type: 0x10, body: Self.body(flags: flags))) == .invalidField("payload.flags"))
    }

    @Test("session id zero is rejected")
    func zeroSession() {
        #expect(decodeError(envelope(type: 0x10, body: Self.body(session: 0))) == .invalidField("payload.sessionID"))
    }

    @Test("without FEC, only all-zero shard fields and no parity flag are accepted")
    func noFECShardFields() {
        #expect(decodeWhole(envelope(type: 0x10, body: Self.body(group: 0xFFFF_FFFF))) != nil)
        for bad in [
            Self.body(parityShards: 1), Self.body(shardIndex: 1), Self.body(flags: 0x02),
            Self.body(shardIndex: 1, parityShards: 1, flags: 0x02),
        ] {
            #expect(decodeError(envelope(type: 0x10, body: bad)) == .invalidField("payload.shards"))
        }
    }

    @Test("with FEC, data shards carry no parity flag and parity shards must carry it")
    func fecShardFields() {
        for index in UInt8(0)..<6 {
            let isParity = index >= 4
            let good = Self.body(shardIndex: index, dataShards: 4, parityShards: 2, flags: isParity ? 0x02 : 0x00)
            #expect(decodeWhole(envelope(type: 0x10, body: good)) != nil, "shard \(index) of 4+2")
            let bad = Self.body(shardIndex: index, dataShards: 4, parityShards: 2, flags: isParity ? 0x00 : 0x02)
            #expect(
                decodeError(envelope(type: 0x10, body: bad)) == .invalidField("payload.shards"), "shard \(index) of 4+2"
            )
        }
        // An index past the group is rejected.
        let past = Self.body(shardIndex: 6, dataShards: 4, parityShards: 2, flags: 0x02)
        #expect(decodeError(envelope(type: 0x10, body: past)) == .invalidField("payload.shards"))
        // A data shard may also end the stream.
        let lastData = Self.body(shardIndex: 3, dataShards: 4, parityShards: 2, flags: 0x01)
        #expect(decodeWhole(envelope(type: 0x10, body: lastData)) != nil)
    }

    @Test("a group of at most 255 shards is accepted, 256 is rejected")
    func groupSize() {
        let largest = Self.body(shardIndex: 254, dataShards: 200, parityShards: 55, flags: 0x02)
        #expect(decodeWhole(envelope(type: 0x10, body: largest)) != nil)
        let tooLarge = Self.body(shardIndex: 0, dataShards: 200, parityShards: 56)
        #expect(decodeError(envelope(type: 0x10, body: tooLarge)) == .invalidField("payload.shards"))
    }

    @Test("stream data may end at offset 2^64 but not past it; parity shards carry no stream offset")
    func offsetOverflow() {
        let fits = Self.body(offset: .max - 3, data: [1, 2, 3])
        #expect(decodeWhole(envelope(type: 0x10, body: fits)) != nil)
        let overflows = Self.body(offset: .max - 3, data: [1, 2, 3, 4])
        #expect(decodeError(envelope(type: 0x10, body: overflows)) == .invalidField("payload.offset"))
        let parity = Self.body(
            offset: .max, shardIndex: 1, dataShards: 1, parityShards: 1, flags: 0x02, data: [1, 2, 3, 4])
        #expect(decodeWhole(envelope(type: 0x10, body: parity)) != nil)
    }

    @Test("the data length is the body length minus 24, and may be zero")
    func dataLength() {
        let empty = decodeWhole(envelope(type: 0x10, body: Self.body(data: [])))
        guard case .payload(let payload) = empty else {
            Issue.record("expected a payload, got \(String(describing: empty))")
            return
        }
        #expect(payload.data.readableBytes == 0)

        let bytes = envelope(type: 0x10, body: Self.body(data: Array(0..<200)))
        guard case .payload(let full) = decodeWhole(bytes) else {
            Issue.record("expected a payload")
            return
        }
        #expect(full.data.bytes == Array(0..<200))
    }

    @Test("a body shorter than the 24 fixed bytes is malformed", arguments: [0, 8, 16, 20, 23])
    func shortHeader(length: Int) {
        let body = Array(Self.body(data: []).prefix(length))
        let error = decodeError(envelope(type: 0x10, body: body))
        guard case .malformedBody(type: 0x10, _) = error else {
            Issue.record("expected malformedBody for \(length) bytes, got \(String(describing: error))")
            return
        }
    }

    @Test("the largest configured payload decodes; one byte more is refused from the header")
    func payloadLimit() {
        let header = PayloadHeader(sessionID: SessionID(rawValue: 7), offset: 0)
        let largest = Frame.payload(PayloadFrame(header: header, data: .stream(offset: 0, count: 1000 + 32)))
        #expect(decodeWhole(encoded(largest), maxPayloadBytes: 1000) == largest)
        let over = Array(
            encoded(.payload(PayloadFrame(header: header, data: .stream(offset: 0, count: 1033)))).prefix(8))
        #expect(
            decodeError(over, maxPayloadBytes: 1000) == .bodyTooLarge(type: 0x10, length: 24 + 1033, limit: 24 + 1032))
    }
}
