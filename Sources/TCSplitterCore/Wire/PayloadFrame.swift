import NIOCore

/// Flags of a payload frame.
public struct PayloadFlags: OptionSet, Hashable, Sendable {
    /// The bit pattern, as sent.
    public var rawValue: UInt8
    /// Wraps a bit pattern.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// This payload ends its direction of the stream: its last byte is the last byte (half-close).
    public static let endOfStream = PayloadFlags(rawValue: 1 << 0)
    /// The data is a Reed-Solomon parity shard, not stream bytes.
    public static let parity = PayloadFlags(rawValue: 1 << 1)

    /// The last payload of a burst the sender sent with nothing else in flight (adaptive clocks):
    /// the receiver's forwarder releases it at once instead of pacing it (like TCP's PSH).
    public static let push = PayloadFlags(rawValue: 1 << 2)

    /// Every flag this version defines; others are rejected.
    public static let known: PayloadFlags = [.endOfStream, .parity, .push]
}

/// The fixed fields in front of a payload's data.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                      session id (u64)                         |
/// |                                                               |
/// +---------------------------------------------------------------+
/// |              stream offset of the first byte (u64)            |
/// |                                                               |
/// +---------------------------------------------------------------+
/// |                   FEC group number (u32)                      |
/// +---------------+---------------+---------------+---------------+
/// |  shard index  |  data shards  | parity shards |     flags     |
/// +---------------+---------------+---------------+---------------+
/// |        data (body length - 24 bytes) ...                      |
/// +---------------------------------------------------------------+
/// ```
///
/// The data length is the frame's body length minus 24; it is never trusted beyond the frame.
/// Without FEC, group, shard index and both shard counts are zero.
public struct PayloadHeader: Hashable, Sendable {
    /// The session the bytes belong to.
    public var sessionID: SessionID
    /// Offset of the first data byte in its direction of the stream (64 bits: never wraps).
    public var offset: UInt64
    /// The FEC group this shard belongs to.
    public var group: UInt32
    /// The shard's index in its group: data shards first, then parity.
    public var shardIndex: UInt8
    /// Data shards in the group (0 without FEC).
    public var dataShards: UInt8
    /// Parity shards in the group (0 without FEC).
    public var parityShards: UInt8
    /// End of stream, parity.
    public var flags: PayloadFlags

    /// A header with every field given; FEC fields default to "no FEC".
    public init(
        sessionID: SessionID,
        offset: UInt64,
        group: UInt32 = 0,
        shardIndex: UInt8 = 0,
        dataShards: UInt8 = 0,
        parityShards: UInt8 = 0,
        flags: PayloadFlags = []
    ) {
        self.sessionID = sessionID
        self.offset = offset
        self.group = group
        self.shardIndex = shardIndex
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.flags = flags
    }
}

/// A payload frame: its header and its data.
public struct PayloadFrame: Hashable, Sendable {
    /// The fixed fields.
    public var header: PayloadHeader
    /// The data, a slice of the received buffer (no copy).
    public var data: ByteBuffer

    /// A frame from its parts.
    public init(header: PayloadHeader, data: ByteBuffer) {
        self.header = header
        self.data = data
    }

    init(body: inout ByteBuffer) throws(FrameDecodingError) {
        guard let session = body.readInteger(as: UInt64.self), let offset = body.readInteger(as: UInt64.self),
            let group = body.readInteger(as: UInt32.self), let shardIndex = body.readInteger(as: UInt8.self),
            let dataShards = body.readInteger(as: UInt8.self), let parityShards = body.readInteger(as: UInt8.self),
            let flagBits = body.readInteger(as: UInt8.self)
        else { throw .malformedBody(type: FrameType.payload.rawValue, length: body.readableBytes) }
        let flags = PayloadFlags(rawValue: flagBits)
        guard PayloadFlags.known.isSuperset(of: flags) else { throw .invalidField("payload.flags") }
        guard session != 0 else { throw .invalidField("payload.sessionID") }
        if dataShards == 0 {
            guard parityShards == 0, shardIndex == 0, !flags.contains(.parity) else {
                throw .invalidField("payload.shards")
            }
        } else {
            guard Int(dataShards) + Int(parityShards) <= 255,
                Int(shardIndex) < Int(dataShards) + Int(parityShards),
                flags.contains(.parity) == (shardIndex >= dataShards)
            else { throw .invalidField("payload.shards") }
        }
        let data = body.readSlice(length: body.readableBytes)!
        guard flags.contains(.parity) || UInt64.max - offset >= UInt64(data.readableBytes) else {
            throw .invalidField("payload.offset")
        }
        self.header = PayloadHeader(
            sessionID: SessionID(rawValue: session),
            offset: offset,
            group: group,
            shardIndex: shardIndex,
            dataShards: dataShards,
            parityShards: parityShards,
            flags: flags
        )
        self.data = data
    }
}

extension ByteBuffer {
    /// Writes the envelope and the fixed payload fields for `dataBytes` of data that the caller
    /// writes next (often as a separate buffer, so the data is never copied). Returns the bytes written.
    @discardableResult
    public mutating func writePayloadFrameHeader(_ header: PayloadHeader, dataBytes: Int) -> Int {
        // One capacity check each for the envelope and the fixed fields, not one per field: the
        // sender writes this header for every payload.
        self.writeFrameHeader(type: .payload, bodyBytes: WireConstants.payloadHeaderBytes + dataBytes)
            + self.writeMultipleIntegers(
                header.sessionID.rawValue,
                header.offset,
                header.group,
                header.shardIndex,
                header.dataShards,
                header.parityShards,
                header.flags.rawValue
            )
    }
}
