import NIOCore
import NIOEmbedded
import NIOTestUtils
import TCSplitterCore
import Testing

@testable import TCSplitterNIO

/// The frame decoder on a channel: NIO's verifier feeds it byte by byte, whole and batched.
@Suite struct FrameDecoderTests {
    static let limits = FrameLimits(maxPayloadBytes: 64)

    static let frames: [Frame] = [
        .serverHello(ServerHello(nonce: HelloNonce(high: 1, low: 2), requiresProof: false)),
        .clientHello(ClientHello(kind: .fling, clientID: ClientID(rawValue: 7), nonce: HelloNonce(high: 3, low: 4))),
        .payload(PayloadFrame(header: PayloadHeader(sessionID: SessionID(rawValue: 9), offset: 640), data: ByteBuffer(bytes: Array(0..<64)))),
        .payload(PayloadFrame(header: PayloadHeader(sessionID: SessionID(rawValue: 9), offset: 704), data: ByteBuffer(bytes: [1]))),
        .control(.open(SessionID(rawValue: 5))),
        .control(.progress(SessionID(rawValue: 5), receivedOffset: 10, sentOffset: 20)),
        .control(.reset(SessionID(rawValue: 5), reason: "because")),
        .control(.ping(42)),
    ]

    @Test("every frame type decodes the same fed byte by byte, whole, and batched")
    func verifier() throws {
        let pairs = Self.frames.map { frame -> (ByteBuffer, [Frame]) in
            var buffer = ByteBuffer()
            buffer.writeFrame(frame)
            return (buffer, [frame])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(limits: Self.limits)
        }
    }

    @Test("bytes left when the peer ends the connection are a cut frame, never a short payload")
    func cutFrame() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: Self.limits)))
        var buffer = ByteBuffer()
        buffer.writeFrame(Self.frames[2])
        let cut = buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!
        try channel.writeInbound(cut)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(throws: FrameDecodingError.truncatedFrame(bufferedBytes: cut.readableBytes)) {
            _ = try channel.finish()
        }
    }

    @Test("garbage is refused from its first two bytes")
    func garbage() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: Self.limits)))
        #expect(throws: FrameDecodingError.badMagic(0x4745)) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        }
    }

    @Test("an oversize payload length is refused from the header, before its body arrives")
    func oversize() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: Self.limits)))
        var header = ByteBuffer()
        header.writeFrameHeader(type: .payload, bodyBytes: WireConstants.payloadHeaderBytes + 64 + WireConstants.maxTagBytes + 1)
        #expect(throws: FrameDecodingError.self) {
            try channel.writeInbound(header)
        }
    }
}
