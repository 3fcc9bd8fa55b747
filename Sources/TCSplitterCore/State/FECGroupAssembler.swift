import NIOCore

/// The sender's side of FEC: groups a session direction's payloads `dataShards` at a time and
/// says when a group is complete, so its parity can be computed and sent.
///
/// A group is `dataShards` consecutive payloads of the stream. All but its last are full
/// (`payloadBytes`); it closes early at a partial payload (the tail flushed at tock) or when
/// `closeOpenGroup()` is called (the tock with no tail), so a quiet stream is never held back
/// waiting for a full group. Data payloads go out at once, marked with their group and index; the
/// parity follows when the group closes.
///
/// ```
///  group g:  [d0 S bytes][d1 S bytes] … [d(k-1) ≤ S bytes]   →   parity p0 … p(m-1), S bytes each
///            offset G     G+S            G+(k-1)·S                (header offset G, k = data count)
/// ```
public struct FECGroupAssembler: Sendable {
    /// A closed group, ready for its parity.
    public struct ClosedGroup: Sendable {
        /// The group number.
        public var group: UInt32
        /// Stream offset of its first byte.
        public var startOffset: UInt64
        /// Its data payloads, in order (the last may be shorter than `shardBytes`).
        public var data: [ByteBuffer]
        /// The shard size: the length of its first payload (all but the last are this long).
        public var shardBytes: Int
        /// The length of its last payload.
        public var lastShardBytes: Int { self.data.last?.readableBytes ?? 0 }
    }

    /// Data shards per full group.
    public let dataShards: Int
    /// Parity shards per group.
    public let parityShards: Int
    /// The full payload size.
    public let payloadBytes: Int
    private var nextGroup: UInt32 = 0
    private var open: ClosedGroup? = nil

    /// An assembler for `dataShards`:`parityShards` groups of `payloadBytes` payloads.
    public init(dataShards: Int, parityShards: Int, payloadBytes: Int) {
        self.dataShards = max(1, dataShards)
        self.parityShards = max(0, parityShards)
        self.payloadBytes = payloadBytes
    }

    /// Whether a group has data shards and waits for more.
    public var hasOpenGroup: Bool { self.open != nil }

    /// Places one payload (in stream order) in the current group. Returns the header fields to
    /// send it with, and the group it closed, if any.
    public mutating func add(_ payload: OutboundPayload) -> (header: PayloadHeaderFields, closed: ClosedGroup?) {
        var group =
            self.open
            ?? ClosedGroup(
                group: self.nextGroup,
                startOffset: payload.offset,
                data: [],
                shardBytes: payload.data.readableBytes
            )
        if self.open == nil { self.nextGroup &+= 1 }
        let index = group.data.count
        group.data.append(payload.data)
        let fields = PayloadHeaderFields(
            group: group.group,
            shardIndex: UInt8(index),
            dataShards: UInt8(self.dataShards),
            parityShards: UInt8(self.parityShards)
        )
        let isPartial =
            payload.data.readableBytes < group.shardBytes
            || (index == 0 && payload.data.readableBytes < self.payloadBytes)
        if group.data.count == self.dataShards || isPartial || payload.isEndOfStream {
            self.open = nil
            return (fields, group)
        }
        self.open = group
        return (fields, nil)
    }

    /// Closes the current group early (the tock fired with nothing more to send).
    public mutating func closeOpenGroup() -> ClosedGroup? {
        defer { self.open = nil }
        return self.open
    }
}

/// The FEC fields of a payload header.
public struct PayloadHeaderFields: Hashable, Sendable {
    /// The group number.
    public var group: UInt32
    /// The shard's index in its group.
    public var shardIndex: UInt8
    /// Data shards in the group (for data payloads, the nominal count; parity says the actual).
    public var dataShards: UInt8
    /// Parity shards in the group.
    public var parityShards: UInt8
}
