import NIOCore
import TCSplitterFEC

/// Runs ``ReedSolomonCodec``'s group API on groups written shard by shard: packs `[ByteBuffer]`
/// shards into one group buffer plus a ``ShardSet`` of present slots, and unpacks the result.
///
/// Nothing is checked here: every shard is packed at its own length, so a shard of the wrong size
/// or a wrong number of shards reaches the codec as a group of the wrong length.
enum GroupPacking {
    /// Byte written into slots that hold no shard, so a read of a missing slot shows up as wrong data.
    static let garbage: UInt8 = 0xEE

    /// The readable bytes of `shards`, back to back in one new buffer.
    static func pack(_ shards: [ByteBuffer]) -> ByteBuffer {
        var group = ByteBufferAllocator().buffer(capacity: shards.reduce(0) { $0 + $1.readableBytes })
        for var shard in shards {
            group.writeBuffer(&shard)
        }
        return group
    }

    /// The first `count` slots of `shardBytes` bytes in `group`'s readable bytes, as slices
    /// (fewer if `group` ends sooner).
    static func unpack(_ group: ByteBuffer, count: Int, shardBytes: Int) -> [ByteBuffer] {
        (0..<count).compactMap { group.getSlice(at: group.readerIndex + $0 * shardBytes, length: shardBytes) }
    }

    /// The parity shards of `data`, computed by
    /// ``ReedSolomonCodec/encodeParity(group:shardBytes:into:)`` on `data` packed into one group.
    ///
    /// - Returns: ``ReedSolomonCodec/parityShards`` slices of the one parity buffer.
    static func encodeParity(
        _ codec: ReedSolomonCodec,
        data: [ByteBuffer],
        shardBytes: Int
    ) throws(FECError) -> [ByteBuffer] {
        var parity = ByteBuffer()
        try codec.encodeParity(group: Self.pack(data), shardBytes: shardBytes, into: &parity)
        return Self.unpack(parity, count: codec.parityShards, shardBytes: shardBytes)
    }

    /// The data shards of the group `shards` (data, then parity; `nil` marks a missing shard),
    /// rebuilt by ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``.
    ///
    /// Present shards are packed as they are, missing ones as `shardBytes` bytes of ``garbage``
    /// (none if `shardBytes` is negative), and `present` names the non-`nil` entries.
    ///
    /// - Returns: ``ReedSolomonCodec/dataShards`` slices of the rebuilt group.
    static func reconstructData(
        _ codec: ReedSolomonCodec,
        shards: [ByteBuffer?],
        shardBytes: Int
    ) throws(FECError) -> [ByteBuffer] {
        let filler = ByteBuffer(repeating: Self.garbage, count: max(0, shardBytes))
        var group = Self.pack(shards.map { $0 ?? filler })
        let present = ShardSet(shards.indices.filter { shards[$0] != nil })
        try codec.reconstructData(group: &group, present: present, shardBytes: shardBytes)
        return Self.unpack(group, count: codec.dataShards, shardBytes: shardBytes)
    }
}
