import NIOCore

/// One unit of wire format v2.
///
/// Every frame on every connection (sync, fling, lasso) has the same envelope. All fields are
/// big-endian. The body length is checked against the limit for its type before a byte of the
/// body is reserved, and a frame is only returned once all of it has arrived.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-------------------------------+---------------+---------------+
/// |         magic 0x5443 "TC"     |  version (1)  |     type      |
/// +-------------------------------+---------------+---------------+
/// |                       body length (u32)                       |
/// +---------------------------------------------------------------+
/// |                   body (body length bytes) ...                |
/// +---------------------------------------------------------------+
/// ```
///
/// The body layouts are drawn beside their types: `ServerHello`, `ClientHello`, `PayloadHeader`,
/// `ControlMessage`.
public enum Frame: Hashable, Sendable {
    /// The server's greeting, first on every connection.
    case serverHello(ServerHello)
    /// The client's answer to the greeting.
    case clientHello(ClientHello)
    /// A slice of a session's byte stream.
    case payload(PayloadFrame)
    /// A message of the sync connection.
    case control(ControlMessage)

    /// The type byte this frame is sent with.
    public var type: FrameType {
        switch self {
        case .serverHello: return .serverHello
        case .clientHello: return .clientHello
        case .payload: return .payload
        case .control(let message): return message.type
        }
    }
}

/// A frame whose body is not parsed yet: its type, its 8 header bytes (authenticated with an
/// encrypted body) and its body.
public struct FrameEnvelope: Sendable {
    /// The frame's type.
    public var type: FrameType
    /// The 8 envelope bytes, as received.
    public var header: ByteBuffer
    /// The body, as received (sealed when the connection is keyed).
    public var body: ByteBuffer
}

extension Frame {
    /// Parses a frame body of `type`; the whole body must be used.
    public init(type: FrameType, body: inout ByteBuffer) throws(FrameDecodingError) {
        let length = body.readableBytes
        switch type {
        case .serverHello:
            self = .serverHello(try ServerHello(body: &body))
        case .clientHello:
            self = .clientHello(try ClientHello(body: &body))
        case .payload:
            self = .payload(try PayloadFrame(body: &body))
        default:
            self = .control(try ControlMessage(type: type, body: &body))
        }
        guard body.readableBytes == 0 else { throw .malformedBody(type: type.rawValue, length: length) }
    }

    /// Whether frames of this type travel before the hello exchange (never encrypted).
    public static func isHello(_ type: FrameType) -> Bool {
        type == .serverHello || type == .clientHello
    }
}

/// Limits applied while decoding frames from one peer.
public struct FrameLimits: Hashable, Sendable {
    /// The largest payload data accepted, in bytes (the configured `--frags` payload size).
    public var maxPayloadBytes: Int

    /// Limits for a tunnel whose payloads are at most `maxPayloadBytes` long.
    public init(maxPayloadBytes: Int) {
        self.maxPayloadBytes = min(maxPayloadBytes, WireConstants.maxPayloadBytes)
    }

    /// The largest body length accepted for a frame of `type`.
    public func maxBodyBytes(for type: FrameType) -> Int {
        switch type {
        case .payload:
            return WireConstants.payloadHeaderBytes + self.maxPayloadBytes + WireConstants.maxTagBytes
        default:
            return WireConstants.maxControlBodyBytes
        }
    }
}

extension ByteBuffer {
    /// Reads one whole frame, or returns `nil` (consuming nothing) when more bytes are needed.
    ///
    /// Throws as soon as the envelope is wrong (magic, version, type, an oversize length), without
    /// waiting for the body; on a throw the reader index is left unchanged.
    public mutating func readFrame(limits: FrameLimits) throws(FrameDecodingError) -> Frame? {
        let start = self.readerIndex
        guard var envelope = try self.readFrameEnvelope(limits: limits) else { return nil }
        do {
            return try Frame(type: envelope.type, body: &envelope.body)
        } catch {
            self.moveReaderIndex(to: start)
            throw error
        }
    }

    /// Reads one whole frame's envelope and body without parsing the body (for a body that must
    /// be opened first: an encrypted one), or returns `nil` (consuming nothing) when more bytes
    /// are needed. The checks on the envelope are those of `readFrame(limits:)`.
    public mutating func readFrameEnvelope(limits: FrameLimits) throws(FrameDecodingError) -> FrameEnvelope? {
        guard let (type, frameBytes) = try self.peekFrameShape(limits: limits), self.readableBytes >= frameBytes,
            let header = self.readSlice(length: WireConstants.frameHeaderBytes),
            let body = self.readSlice(length: frameBytes - WireConstants.frameHeaderBytes)
        else { return nil }
        return FrameEnvelope(type: type, header: header, body: body)
    }

    /// The length, envelope included, of the frame at the reader index, from its envelope alone;
    /// `nil` while the 8 envelope bytes are not all here. Consumes nothing.
    ///
    /// Throws as soon as the bytes present are wrong: garbage from its first two bytes, and a bad
    /// version, an unknown type or an oversize length once the envelope is whole, so a receiver
    /// can size a buffer for the frame before its body arrives.
    public func peekFrameBytes(limits: FrameLimits) throws(FrameDecodingError) -> Int? {
        try self.peekFrameShape(limits: limits)?.frameBytes
    }

    /// The type and whole length of the frame at the reader index (`peekFrameBytes`).
    private func peekFrameShape(limits: FrameLimits) throws(FrameDecodingError) -> (type: FrameType, frameBytes: Int)? {
        guard let magic = self.getInteger(at: self.readerIndex, as: UInt16.self),
            let version = self.getInteger(at: self.readerIndex + 2, as: UInt8.self),
            let typeByte = self.getInteger(at: self.readerIndex + 3, as: UInt8.self),
            let length = self.getInteger(at: self.readerIndex + 4, as: UInt32.self)
        else {
            guard self.readableBytes >= 2, let magic = self.getInteger(at: self.readerIndex, as: UInt16.self) else {
                return nil
            }
            // Fail fast on garbage even before the header is complete.
            if magic != WireConstants.magic { throw .badMagic(magic) }
            return nil
        }
        guard magic == WireConstants.magic else { throw .badMagic(magic) }
        guard version == WireConstants.version else { throw .unsupportedVersion(version) }
        guard let type = FrameType(rawValue: typeByte) else { throw .unknownFrameType(typeByte) }
        let limit = limits.maxBodyBytes(for: type)
        guard length <= UInt32(limit) else { throw .bodyTooLarge(type: typeByte, length: length, limit: limit) }
        return (type, WireConstants.frameHeaderBytes + Int(length))
    }

    /// Writes the envelope of a frame whose body is `bodyBytes` long. Returns the bytes written.
    @discardableResult
    public mutating func writeFrameHeader(type: FrameType, bodyBytes: Int) -> Int {
        self.writeMultipleIntegers(WireConstants.magic, WireConstants.version, type.rawValue, UInt32(bodyBytes))
    }

    /// Writes a whole frame. Returns the bytes written.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        switch frame {
        case .serverHello(let hello):
            return self.writeFrameHeader(type: .serverHello, bodyBytes: hello.bodyBytes) + hello.writeBody(into: &self)
        case .clientHello(let hello):
            return self.writeFrameHeader(type: .clientHello, bodyBytes: hello.bodyBytes) + hello.writeBody(into: &self)
        case .payload(let payload):
            var data = payload.data
            return self.writePayloadFrameHeader(payload.header, dataBytes: data.readableBytes)
                + self.writeBuffer(&data)
        case .control(let message):
            return self.writeFrameHeader(type: message.type, bodyBytes: message.bodyBytes)
                + message.writeBody(into: &self)
        }
    }
}
