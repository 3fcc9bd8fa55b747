import NIOCore
import TCSplitterCore
import Testing

/// `FrameAssembler`: frames cut anywhere by reads come out whole and in order, frames inside one
/// read are slices of it, a cut frame is held in a buffer of its own length, and bad envelopes
/// fail from their first bytes.
@Suite struct FrameAssemblerTests {
    static let limits = FrameLimits(maxPayloadBytes: 70_000)

    /// A stream of 60 frames: payloads of the given sizes and control frames.
    static func stream(
        seed: UInt64, sizes: [Int] = [1, 100, 9_999, 10_000, 65_536]
    ) -> (bytes: ByteBuffer, frames: [Frame]) {
        var random = SplitMix64(seed: seed)
        var bytes = ByteBuffer()
        var frames: [Frame] = []
        var offset: UInt64 = 0
        for index in 0..<60 {
            let frame: Frame
            if index % 7 == 3 {
                frame = .control(.progress(SessionID(rawValue: 5), receivedOffset: offset, sentOffset: offset))
            } else {
                let size = sizes[Int(random.next() % UInt64(sizes.count))]
                let data = ByteBuffer(bytes: (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) })
                frame = .payload(
                    PayloadFrame(header: PayloadHeader(sessionID: SessionID(rawValue: 9), offset: offset), data: data))
                offset += UInt64(size)
            }
            bytes.writeFrame(frame)
            frames.append(frame)
        }
        return (bytes, frames)
    }

    /// Feeds `bytes` in reads of the sizes `readSizes` yields and parses every envelope.
    static func assemble(
        _ bytes: ByteBuffer, readSizes: () -> Int
    ) throws -> (frames: [Frame], assembler: FrameAssembler) {
        var assembler = FrameAssembler(limits: Self.limits)
        var bytes = bytes
        var frames: [Frame] = []
        while bytes.readableBytes > 0 {
            let read = bytes.readSlice(length: min(max(1, readSizes()), bytes.readableBytes))!
            assembler.append(ByteBuffer(buffer: read))  // a read has storage of its own
            while var envelope = try assembler.next() {
                frames.append(try Frame(type: envelope.type, body: &envelope.body))
            }
        }
        return (frames, assembler)
    }

    @Test("frames cut by reads of 1 byte, 7 bytes, 64 KiB, random sizes or one read come out whole and in order")
    func anyCut() throws {
        let (bytes, expected) = Self.stream(seed: 1)
        let (smallBytes, smallExpected) = Self.stream(seed: 3, sizes: [1, 100, 1_500])  // for the tiny reads
        var random = SplitMix64(seed: 2)
        let plans: [(String, ByteBuffer, [Frame], () -> Int)] = [
            ("1", smallBytes, smallExpected, { 1 }), ("7", smallBytes, smallExpected, { 7 }),
            ("65536", bytes, expected, { 65_536 }), ("random", bytes, expected, { Int(random.next() % 100_000) + 1 }),
            ("whole", bytes, expected, { Int.max }),
        ]
        for (name, input, frames, sizes) in plans {
            let (decoded, assembler) = try Self.assemble(input, readSizes: sizes)
            #expect(decoded == frames, "reads of \(name)")
            #expect(assembler.bufferedBytes == 0, "reads of \(name)")
        }
    }

    @Test("a frame inside one read is a slice of the read; a cut one is held at exactly its own length")
    func slicesAndGathering() throws {
        var bytes = ByteBuffer()
        let whole = Frame.payload(
            PayloadFrame(
                header: PayloadHeader(sessionID: SessionID(rawValue: 1), offset: 0),
                data: ByteBuffer(repeating: 1, count: 1000)))
        let cut = Frame.payload(
            PayloadFrame(
                header: PayloadHeader(sessionID: SessionID(rawValue: 1), offset: 1000),
                data: ByteBuffer(repeating: 2, count: 50_000)))
        bytes.writeFrame(whole)
        let wholeBytes = bytes.readableBytes
        bytes.writeFrame(cut)
        let cutBytes = bytes.readableBytes - wholeBytes
        let read = bytes.getSlice(at: 0, length: wholeBytes + 20)!
        var assembler = FrameAssembler(limits: Self.limits)
        assembler.append(read)
        let first = try #require(try assembler.next())
        read.withUnsafeReadableBytes { readBytes in
            first.body.withUnsafeReadableBytes { body in
                #expect(
                    body.baseAddress! > readBytes.baseAddress!
                        && body.baseAddress! < readBytes.baseAddress! + readBytes.count)
            }
        }
        #expect(try assembler.next() == nil)
        #expect(assembler.bufferedBytes == 20)
        assembler.append(bytes.getSlice(at: wholeBytes + 20, length: cutBytes - 21)!)
        #expect(try assembler.next() == nil)
        #expect(assembler.bufferedBytes == cutBytes - 1)
        assembler.append(bytes.getSlice(at: wholeBytes + cutBytes - 1, length: 1)!)
        var envelope = try #require(try assembler.next())
        #expect(envelope.header.readableBytes + envelope.body.readableBytes == cutBytes)
        #expect(try Frame(type: envelope.type, body: &envelope.body) == cut)
        #expect(assembler.bufferedBytes == 0)
    }

    @Test("garbage fails from its first two bytes, an oversize length from the envelope before any body")
    func badEnvelopes() throws {
        var garbage = FrameAssembler(limits: Self.limits)
        garbage.append(ByteBuffer(string: "GE"))
        #expect(throws: FrameDecodingError.badMagic(0x4745)) { try garbage.next() }

        var split = FrameAssembler(limits: Self.limits)
        split.append(ByteBuffer(bytes: [0x54]))  // "T", then "X" in the next read
        #expect(try split.next() == nil)
        split.append(ByteBuffer(bytes: [0x58]))
        #expect(throws: FrameDecodingError.badMagic(0x5458)) { try split.next() }

        var oversize = FrameAssembler(limits: FrameLimits(maxPayloadBytes: 64))
        var header = ByteBuffer()
        header.writeFrameHeader(
            type: .payload, bodyBytes: WireConstants.payloadHeaderBytes + 64 + WireConstants.maxTagBytes + 1)
        oversize.append(header.getSlice(at: 0, length: 5)!)
        #expect(try oversize.next() == nil)
        oversize.append(header.getSlice(at: 5, length: 3)!)
        #expect(throws: FrameDecodingError.self) { try oversize.next() }
    }

    @Test("peekFrameBytes reads the length from the envelope alone and consumes nothing")
    func peek() throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(.control(.ping(7)))
        let length = buffer.readableBytes
        #expect(try buffer.getSlice(at: 0, length: 7)!.peekFrameBytes(limits: Self.limits) == nil)
        #expect(try buffer.getSlice(at: 0, length: 8)!.peekFrameBytes(limits: Self.limits) == length)
        #expect(try buffer.peekFrameBytes(limits: Self.limits) == length)
        #expect(buffer.readableBytes == length)
    }
}
