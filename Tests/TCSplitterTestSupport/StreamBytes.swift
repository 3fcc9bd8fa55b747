import NIOCore

extension ByteBuffer {
    /// A buffer holding exactly `bytes`.
    public init(_ bytes: [UInt8]) {
        self.init(bytes: bytes)
    }

    /// A buffer of `count` bytes whose value is their stream offset modulo 251 (a prime, so a
    /// shifted or repeated slice never looks right by accident), starting at stream `offset`.
    public static func stream(offset: Int, count: Int) -> ByteBuffer {
        if count <= streamPatternSpan, let slice = streamPattern.getSlice(at: offset % 251, length: count) {
            return slice
        }
        return ByteBuffer(bytes: (offset..<(offset + count)).map { UInt8($0 % 251) })
    }

    /// The readable bytes as an array.
    public var bytes: [UInt8] { self.getBytes(at: self.readerIndex, length: self.readableBytes) ?? [] }
}

/// Slices of this are `ByteBuffer.stream` values, so large tests need not build bytes one by one.
private let streamPatternSpan = 64 << 10
private let streamPattern = ByteBuffer(bytes: (0..<(251 + streamPatternSpan)).map { UInt8($0 % 251) })

/// The readable bytes of `buffers`, concatenated in order.
public func joined(_ buffers: [ByteBuffer]) -> [UInt8] {
    buffers.flatMap { $0.bytes }
}
