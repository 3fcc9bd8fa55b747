import NIOCore
import TCSplitterCore
import Testing

/// The frame envelope: magic, version, type, length, and when a frame is (not) returned.
@Suite struct FrameTests {
    /// A ping with token 0x0102030405060708, written out by hand.
    static let pingBytes: [UInt8] = [
        0x54, 0x43, 0x02, 0x26, 0x00, 0x00, 0x00, 0x08,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    ]

    @Test("the envelope is magic TC, version 2, the type byte and a big-endian u32 body length")
    func envelopeLayout() {
        #expect(encoded(.control(.ping(0x0102_0304_0506_0708))) == Self.pingBytes)
        #expect(decodeWhole(Self.pingBytes) == .control(.ping(0x0102_0304_0506_0708)))
    }

    @Test("writeFrameHeader writes eight bytes and reports them")
    func frameHeaderAlone() {
        var buffer = ByteBuffer()
        let written = buffer.writeFrameHeader(type: .progress, bodyBytes: 0x0102_0304)
        #expect(written == WireConstants.frameHeaderBytes)
        #expect(buffer.bytes == [0x54, 0x43, 0x02, 0x24, 0x01, 0x02, 0x03, 0x04])
    }

    @Test("writeFrame returns exactly the number of bytes it appended")
    func writeFrameCount() {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        let written = buffer.writeFrame(.control(.finish(SessionID(rawValue: 9), finalOffset: 77)))
        #expect(written == 8 + 16)
        #expect(buffer.readableBytes == 2 + written)
    }

    @Test("the wire constants match the diagrams")
    func constants() {
        #expect(WireConstants.magic == 0x5443)
        #expect(WireConstants.version == 2)
        #expect(WireConstants.frameHeaderBytes == 8)
        #expect(WireConstants.payloadHeaderBytes == 24)
    }

    @Test("frame type bytes are the documented ones and all distinct")
    func typeBytes() {
        let expected: [FrameType: UInt8] = [
            .serverHello: 0x01, .clientHello: 0x02, .payload: 0x10, .open: 0x20, .opened: 0x21, .openFailed: 0x22,
            .finish: 0x23, .progress: 0x24, .reset: 0x25, .ping: 0x26, .pong: 0x27, .resend: 0x28, .replace: 0x29,
            .openTo: 0x2A,
        ]
        #expect(FrameType.allCases.count == expected.count)
        for type in FrameType.allCases {
            #expect(type.rawValue == expected[type])
        }
        #expect(Set(FrameType.allCases.map(\.rawValue)).count == FrameType.allCases.count)
    }

    @Test("Frame.type names the type byte each case is sent with")
    func frameType() {
        let nonce = HelloNonce(high: 1, low: 2)
        let id = SessionID(rawValue: 1)
        #expect(Frame.serverHello(ServerHello(nonce: nonce, requiresProof: false)).type == .serverHello)
        #expect(
            Frame.clientHello(ClientHello(kind: .sync, clientID: ClientID(rawValue: 1), nonce: nonce)).type
                == .clientHello)
        #expect(
            Frame.payload(PayloadFrame(header: PayloadHeader(sessionID: id, offset: 0), data: ByteBuffer())).type
                == .payload)
        #expect(Frame.control(.reset(id, reason: "x")).type == .reset)
        #expect(Frame.control(.pong(3)).type == .pong)
    }

    @Test("fed one byte at a time, nothing is returned or consumed until the last byte")
    func byteAtATime() throws {
        let header = PayloadHeader(sessionID: SessionID(rawValue: 0xABCD), offset: 4096, flags: .endOfStream)
        let bytes = encoded(.payload(PayloadFrame(header: header, data: .stream(offset: 4096, count: 100))))
        let limits = FrameLimits(maxPayloadBytes: 1000)
        var buffer = ByteBuffer()
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let frame = try buffer.readFrame(limits: limits)
            if index < bytes.count - 1 {
                #expect(frame == nil, "returned a frame after \(index + 1) of \(bytes.count) bytes")
                #expect(buffer.readableBytes == index + 1, "consumed bytes of an incomplete frame")
            } else {
                let payload = try #require(frame)
                guard case .payload(let decoded) = payload else {
                    Issue.record("expected a payload, got \(payload)")
                    return
                }
                #expect(decoded.header == header)
                #expect(decoded.data == .stream(offset: 4096, count: 100))
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test("two frames in one buffer come out one per call, then nil")
    func backToBack() throws {
        var buffer = ByteBuffer(bytes: encoded(.control(.ping(1))) + encoded(.control(.pong(2))) + [0x54])
        let limits = FrameLimits(maxPayloadBytes: 100)
        #expect(try buffer.readFrame(limits: limits) == .control(.ping(1)))
        #expect(try buffer.readFrame(limits: limits) == .control(.pong(2)))
        #expect(try buffer.readFrame(limits: limits) == nil)
        #expect(buffer.readableBytes == 1)
    }

    @Test("garbage is rejected as bad magic from its first two bytes, without waiting for a header")
    func garbageFailsFast() {
        #expect(decode([0x47]) == DecodeOutcome(result: .success(nil), unread: 1))
        #expect(decodeError([0x47, 0x45]) == .badMagic(0x4745))
        #expect(decodeError(Array("GET / HTTP/1.1\r\n".utf8)) == .badMagic(0x4745))
        #expect(decodeError([0x43, 0x54, 0x01, 0x26, 0, 0, 0, 8]) == .badMagic(0x4354))
    }

    @Test("a correct magic with too few bytes for the header waits")
    func partialHeaderWaits() {
        for count in 0..<WireConstants.frameHeaderBytes {
            let outcome = decode(Array(Self.pingBytes.prefix(count)))
            #expect(outcome == DecodeOutcome(result: .success(nil), unread: count))
        }
    }

    @Test("another version is rejected with the version it names")
    func unsupportedVersion() {
        #expect(decodeError(envelope(type: 0x26, body: be(UInt64(1)), version: 1)) == .unsupportedVersion(1))
        #expect(decodeError(envelope(type: 0x26, body: be(UInt64(1)), version: 0)) == .unsupportedVersion(0))
    }

    @Test(
        "type bytes this version does not define are rejected",
        arguments: [0x00, 0x03, 0x11, 0x1F, 0x2B, 0xFF] as [UInt8])
    func unknownType(type: UInt8) {
        #expect(decodeError(envelope(type: type, body: [])) == .unknownFrameType(type))
    }

    @Test("an oversize control length is rejected from the header alone, before any body byte")
    func oversizeControlRejectedEarly() {
        let header: [UInt8] = [0x54, 0x43, 0x02, 0x26] + be(UInt32(1025))
        #expect(decodeError(header) == .bodyTooLarge(type: 0x26, length: 1025, limit: 1024))
        let huge: [UInt8] = [0x54, 0x43, 0x02, 0x20, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(decodeError(huge) == .bodyTooLarge(type: 0x20, length: UInt32.max, limit: 1024))
        // The largest allowed length is not rejected: it waits for its body.
        let largest: [UInt8] = [0x54, 0x43, 0x02, 0x25] + be(UInt32(1024))
        #expect(decode(largest) == DecodeOutcome(result: .success(nil), unread: 8))
    }

    @Test("the payload limit is header + configured payload + tag, checked before the body arrives")
    func oversizePayloadRejectedEarly() {
        let limits = FrameLimits(maxPayloadBytes: 1000)
        #expect(limits.maxBodyBytes(for: .payload) == 24 + 1000 + 32)
        #expect(limits.maxBodyBytes(for: .ping) == WireConstants.maxControlBodyBytes)
        #expect(limits.maxBodyBytes(for: .serverHello) == WireConstants.maxControlBodyBytes)
        let over: [UInt8] = [0x54, 0x43, 0x02, 0x10] + be(UInt32(1057))
        #expect(decodeError(over, maxPayloadBytes: 1000) == .bodyTooLarge(type: 0x10, length: 1057, limit: 1056))
        let atLimit: [UInt8] = [0x54, 0x43, 0x02, 0x10] + be(UInt32(1056))
        #expect(decode(atLimit, maxPayloadBytes: 1000) == DecodeOutcome(result: .success(nil), unread: 8))
    }

    @Test("FrameLimits never allows more than the largest payload any configuration may choose")
    func limitsClamp() {
        #expect(FrameLimits(maxPayloadBytes: 10 << 20).maxPayloadBytes == WireConstants.maxPayloadBytes)
        #expect(FrameLimits(maxPayloadBytes: 512).maxPayloadBytes == 512)
    }

    @Test("a body longer than its fields is malformed, not silently truncated")
    func trailingBytes() {
        let body = be(UInt64(7)) + [0xEE]
        #expect(decodeError(envelope(type: 0x26, body: body)) == .malformedBody(type: 0x26, length: 9))
        // An open may carry a window (u32, never 0) after its id, and nothing after that.
        let open = be(UInt64(7)) + be(UInt32(1 << 20)) + be(UInt32(0))
        #expect(decodeError(envelope(type: 0x20, body: open)) == .malformedBody(type: 0x20, length: 16))
        #expect(decodeError(envelope(type: 0x20, body: be(UInt64(7)) + be(UInt32(0)))) == .invalidField("open.window"))
        // One byte past a server hello's flags starts an agreement too short to read.
        let hello = be(UInt64(1)) + be(UInt64(2)) + [0x00, 0x00]
        #expect(decodeError(envelope(type: 0x01, body: hello)) == .malformedBody(type: 0x01, length: 1))
        let agreement: [UInt8] = [0, 0, 0x27, 0x10, 0, 0, 0]
        #expect(
            decodeError(envelope(type: 0x01, body: hello.dropLast() + agreement + [0xEE]))
                == .malformedBody(type: 0x01, length: 25))
    }

    @Test("a body shorter than its fields is malformed")
    func shortBody() {
        let error = decodeError(envelope(type: 0x26, body: [1, 2, 3, 4, 5, 6, 7]))
        guard case .malformedBody(type: 0x26, _) = error else {
            Issue.record("expected malformedBody for a 7-byte ping, got \(String(describing: error))")
            return
        }
    }

    @Test("a frame is not returned while its body is incomplete, and a later byte completes it")
    func incompleteBody() throws {
        var buffer = ByteBuffer(bytes: Self.pingBytes.dropLast())
        let limits = FrameLimits(maxPayloadBytes: 100)
        #expect(try buffer.readFrame(limits: limits) == nil)
        #expect(buffer.readableBytes == Self.pingBytes.count - 1)
        buffer.writeInteger(Self.pingBytes.last!)
        #expect(try buffer.readFrame(limits: limits) == .control(.ping(0x0102_0304_0506_0708)))
    }

    @Test("a frame rejected for its body leaves the reader index where it was")
    func throwRewinds() {
        // An open for session 0 is invalid; every byte must still be unread after the throw.
        let bytes = [0x99] + envelope(type: 0x20, body: be(UInt64(0)))
        var buffer = ByteBuffer(bytes: bytes)
        buffer.moveReaderIndex(forwardBy: 1)
        #expect(throws: FrameDecodingError.invalidField("control.sessionID")) {
            _ = try buffer.readFrame(limits: FrameLimits(maxPayloadBytes: 10))
        }
        #expect(buffer.readerIndex == 1)
        #expect(buffer.readableBytes == bytes.count - 1)
    }

    @Test("every kind of frame survives a write and a read unchanged")
    func roundTripEveryKind() {
        let id = SessionID(rawValue: 0xFEED_FACE_CAFE_BEEF)
        let nonce = HelloNonce(high: 0x1111, low: 0x2222)
        let frames: [Frame] = [
            .serverHello(ServerHello(nonce: nonce, requiresProof: true)),
            .clientHello(ClientHello(kind: .lasso, clientID: ClientID(rawValue: 5), nonce: nonce, proof: [1, 2, 3])),
            .payload(
                PayloadFrame(
                    header: PayloadHeader(sessionID: id, offset: 1 << 40, flags: .endOfStream),
                    data: .stream(offset: 0, count: 300)
                )
            ),
            .control(.open(id)), .control(.opened(id)), .control(.openFailed(id, reason: "refused")),
            .control(.finish(id, finalOffset: 12)), .control(.progress(id, receivedOffset: 3, sentOffset: 4)),
            .control(.reset(id, reason: "")), .control(.ping(0)), .control(.pong(.max)),
        ]
        for frame in frames {
            #expect(decodeWhole(encoded(frame), maxPayloadBytes: 1000) == frame)
        }
    }
}
