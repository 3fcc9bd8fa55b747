/// Why bytes from a peer were rejected. Every case closes only the connection that sent them.
public enum FrameDecodingError: Error, Hashable, Sendable {
    /// The first two bytes were not `WireConstants.magic`: not a tcsplitter peer.
    case badMagic(UInt16)
    /// A version this build does not speak.
    case unsupportedVersion(UInt8)
    /// A frame type this version does not define.
    case unknownFrameType(UInt8)
    /// A body length above the limit for its type, checked before any memory is reserved.
    case bodyTooLarge(type: UInt8, length: UInt32, limit: Int)
    /// A body shorter or longer than its type's fields need.
    case malformedBody(type: UInt8, length: Int)
    /// A field with a value outside its range (the field's name).
    case invalidField(String)
    /// The connection ended inside a frame: a cut frame is an error, never a short payload.
    case truncatedFrame(bufferedBytes: Int)
}
