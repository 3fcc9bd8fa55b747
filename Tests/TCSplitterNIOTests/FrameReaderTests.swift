import NIOCore
import NIOEmbedded
import TCSplitterCore
import Testing

@testable import TCSplitterNIO

/// The frame reader on a channel: every frame type fed byte by byte, whole and batched; a cut
/// frame at the end; garbage and oversize lengths refused early.
@Suite struct FrameReaderTests {
    static let limits = FrameLimits(maxPayloadBytes: 64)

    static let frames: [Frame] = [
        .serverHello(ServerHello(nonce: HelloNonce(high: 1, low: 2), requiresProof: false)),
        .clientHello(ClientHello(kind: .fling, clientID: ClientID(rawValue: 7), nonce: HelloNonce(high: 3, low: 4))),
        .payload(
            PayloadFrame(
                header: PayloadHeader(sessionID: SessionID(rawValue: 9), offset: 640),
                data: ByteBuffer(bytes: Array(0..<64)))),
        .payload(
            PayloadFrame(
                header: PayloadHeader(sessionID: SessionID(rawValue: 9), offset: 704), data: ByteBuffer(bytes: [1]))),
        .control(.open(SessionID(rawValue: 5))),
        .control(.progress(SessionID(rawValue: 5), receivedOffset: 10, sentOffset: 20)),
        .control(.reset(SessionID(rawValue: 5), reason: "because")),
        .control(.ping(42)),
    ]

    static var allBytes: ByteBuffer {
        var buffer = ByteBuffer()
        for frame in Self.frames { buffer.writeFrame(frame) }
        return buffer
    }

    static func readAll(_ channel: EmbeddedChannel) throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        return frames
    }

    @Test("every frame type decodes the same fed byte by byte, whole, and batched")
    func chunkings() throws {
        for chunk in [1, 3, 8, 13, 100, Int.max] {
            let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits))
            var bytes = Self.allBytes
            var frames: [Frame] = []
            while bytes.readableBytes > 0 {
                try channel.writeInbound(bytes.readSlice(length: min(chunk, bytes.readableBytes))!)
                frames += try Self.readAll(channel)
            }
            #expect(frames == Self.frames, "chunks of \(chunk)")
            #expect(try channel.finish().isClean)
        }
    }

    /// Collects what a `FrameReader` hands its sink.
    final class Recorder: FrameSink {
        var frames: [Frame] = []
        func received(frame: Frame) { self.frames.append(frame) }
    }

    @Test("with a sink, every frame goes to it and none down the pipeline")
    func sink() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits, sink: recorder))
        var bytes = Self.allBytes
        while bytes.readableBytes > 0 {
            try channel.writeInbound(bytes.readSlice(length: min(13, bytes.readableBytes))!)
        }
        #expect(recorder.frames == Self.frames)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("bytes left when the peer ends the connection are a cut frame, never a short payload")
    func cutFrame() throws {
        let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits))
        var buffer = ByteBuffer()
        buffer.writeFrame(Self.frames[2])
        let cut = buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!
        try channel.writeInbound(cut)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(throws: FrameDecodingError.truncatedFrame(bufferedBytes: cut.readableBytes)) {
            _ = try channel.finish()
        }
    }

    @Test("half-closing inside a frame reports the cut frame; the frames before it are passed on")
    func cutFrameOnInputClosed() throws {
        let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits))
        var first = ByteBuffer()
        first.writeFrame(Self.frames[0])
        let firstBytes = first.readableBytes
        try channel.writeInbound(Self.allBytes.getSlice(at: 0, length: firstBytes + 5)!)
        #expect(throws: FrameDecodingError.truncatedFrame(bufferedBytes: 5)) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            try channel.throwIfErrorCaught()
        }
        #expect(try Self.readAll(channel) == [Self.frames[0]])
    }

    @Test("garbage is refused from its first two bytes, and nothing after it is read")
    func garbage() throws {
        let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits))
        #expect(throws: FrameDecodingError.badMagic(0x4745)) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        }
        try channel.writeInbound(Self.allBytes)
        #expect(try Self.readAll(channel).isEmpty)
    }

    @Test("an oversize payload length is refused from the header, before its body arrives")
    func oversize() throws {
        let channel = EmbeddedChannel(handler: FrameReader(limits: Self.limits))
        var header = ByteBuffer()
        header.writeFrameHeader(
            type: .payload, bodyBytes: WireConstants.payloadHeaderBytes + 64 + WireConstants.maxTagBytes + 1)
        #expect(throws: FrameDecodingError.self) {
            try channel.writeInbound(header)
        }
    }
}
