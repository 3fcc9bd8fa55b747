import NIOCore

/// The receiver's side of FEC: collects each group's shards and asks for a rebuild as soon as
/// any `dataCount` of them are present and a data shard is still missing (it does not wait for
/// stragglers; a straggler that comes later is dropped as a duplicate by `ReceiveStream`).
///
/// Parity payloads say the group's true data count and last shard length: their data is
/// `lastShardBytes (u32) | parity shard`. Nothing a peer sends is trusted: an index, size or
/// offset that does not fit the group drops the group (counted), and at most `maxGroups` groups
/// are held, each dropped once the stream is delivered past it. A group whose data shards all came
/// keeps only a record (no bytes); past the cap, finished records go first, then the newest group.
///
/// ```
///  parity payload data:  +----------------------+-----------------------------+
///                        | last shard bytes u32 | parity shard (S bytes)      |
///                        +----------------------+-----------------------------+
/// ```
public struct FECShardCollector: Sendable {
    /// A group to rebuild: run the codec over `shards` (data first, then parity; `nil` = missing;
    /// a present last data shard shorter than `shardBytes` must be zero-padded by the caller).
    public struct Rebuild: Sendable {
        /// The group number.
        public var group: UInt32
        /// Stream offset of the group's first byte.
        public var startOffset: UInt64
        /// Data shards in the group.
        public var dataCount: Int
        /// Parity shards in the group.
        public var parityCount: Int
        /// The shard size.
        public var shardBytes: Int
        /// The true length of the last data shard.
        public var lastShardBytes: Int
        /// The shards, `dataCount + parityCount` of them.
        public var shards: [ByteBuffer?]

        /// Where data shard `index` lies in the stream.
        public func range(ofDataShard index: Int) -> Range<UInt64> {
            let start = self.startOffset + UInt64(index * self.shardBytes)
            let length = index == self.dataCount - 1 ? self.lastShardBytes : self.shardBytes
            return start..<(start + UInt64(length))
        }
    }

    private struct Group: Sendable {
        var startOffset: UInt64
        var nominalData: Int
        var parityCount: Int
        var dataCount: Int?
        var shardBytes: Int?
        var lastShardBytes: Int?
        var data: [Int: ByteBuffer] = [:]
        var parity: [Int: ByteBuffer] = [:]
        var rebuilt = false

        /// The group's end: exact once parity said its size, else the most a full group spans.
        func endOffset(payloadBytes: Int) -> UInt64 {
            if let count = self.dataCount, let size = self.shardBytes, let last = self.lastShardBytes {
                return self.startOffset + UInt64((count - 1) * size + last)
            }
            return self.startOffset + UInt64(self.nominalData * payloadBytes)
        }
    }

    /// The full payload size (all data shards but a group's last have it).
    public let payloadBytes: Int
    /// Groups held at most.
    public let maxGroups: Int
    private var groups: [UInt32: Group] = [:]
    /// Groups rebuilt so far.
    public private(set) var rebuiltGroups = 0
    /// Groups dropped for shards that did not fit.
    public private(set) var rejectedGroups = 0

    /// A collector for payloads of `payloadBytes`, holding at most `maxGroups` groups.
    public init(payloadBytes: Int, maxGroups: Int) {
        self.payloadBytes = max(1, payloadBytes)
        self.maxGroups = max(1, maxGroups)
    }

    /// Groups held now.
    public var heldGroups: Int { self.groups.count }

    /// Takes a data payload that belongs to a group.
    public mutating func data(_ header: PayloadHeader, _ bytes: ByteBuffer) -> Rebuild? {
        let index = Int(header.shardIndex)
        guard header.dataShards > 0, index < Int(header.dataShards), bytes.readableBytes > 0 else { return nil }
        let start = header.offset &- UInt64(index * self.payloadBytes)
        guard index == 0 || (header.offset >= UInt64(index * self.payloadBytes)) else {
            self.reject(header.group)
            return nil
        }
        guard var group = self.group(header.group, start: start, header: header) else { return nil }
        if group.rebuilt { return nil }
        if let size = group.shardBytes, let count = group.dataCount, let last = group.lastShardBytes {
            let expected = index == count - 1 ? last : size
            guard index < count, bytes.readableBytes == expected else {
                self.reject(header.group)
                return nil
            }
        }
        group.data[index] = bytes
        if group.data.count == (group.dataCount ?? group.nominalData) {
            // Every data shard came: nothing to rebuild; keep only the record, so late parity is ignored.
            group.rebuilt = true
            group.data.removeAll()
            group.parity.removeAll()
        }
        self.groups[header.group] = group
        return self.rebuildIfPossible(header.group)
    }

    /// Takes a parity payload. Its data is `lastShardBytes (u32) | parity shard`.
    public mutating func parity(_ header: PayloadHeader, _ bytes: ByteBuffer) -> Rebuild? {
        var bytes = bytes
        let dataCount = Int(header.dataShards)
        let index = Int(header.shardIndex) - dataCount
        guard dataCount > 0, index >= 0, index < Int(header.parityShards),
            let last = bytes.readInteger(as: UInt32.self)
        else {
            self.reject(header.group)
            return nil
        }
        let size = bytes.readableBytes
        let lastBytes = Int(last)
        guard size > 0, size <= self.payloadBytes, lastBytes >= 1, lastBytes <= size,
            dataCount == 1 ? size == lastBytes : size == self.payloadBytes
        else {
            self.reject(header.group)
            return nil
        }
        guard var group = self.group(header.group, start: header.offset, header: header) else { return nil }
        if group.rebuilt { return nil }
        if let known = group.dataCount,
            known != dataCount || group.shardBytes != size || group.lastShardBytes != lastBytes
        {
            self.reject(header.group)
            return nil
        }
        guard dataCount <= group.nominalData, group.data.keys.allSatisfy({ $0 < dataCount }) else {
            self.reject(header.group)
            return nil
        }
        for (dataIndex, shard) in group.data {
            let expected = dataIndex == dataCount - 1 ? lastBytes : size
            guard shard.readableBytes == expected else {
                self.reject(header.group)
                return nil
            }
        }
        group.dataCount = dataCount
        group.shardBytes = size
        group.lastShardBytes = lastBytes
        group.parity[index] = bytes
        self.groups[header.group] = group
        return self.rebuildIfPossible(header.group)
    }

    /// What is held of the group covering `offset` (for error messages).
    public func describe(offset: UInt64) -> String {
        guard
            let (number, group) = self.groups.first(where: {
                $0.value.startOffset <= offset && offset < $0.value.endOffset(payloadBytes: self.payloadBytes)
            })
        else { return "no group holds offset \(offset)" }
        return
            "group \(number) at \(group.startOffset): data shards \(group.data.keys.sorted()), parity \(group.parity.keys.sorted()), data count \(group.dataCount.map(String.init) ?? "?"), rebuilt \(group.rebuilt)"
    }

    /// Drops every group the stream was delivered past.
    public mutating func forget(deliveredUpTo offset: UInt64) {
        for (number, group) in self.groups where group.endOffset(payloadBytes: self.payloadBytes) <= offset {
            self.groups.removeValue(forKey: number)
        }
    }

    private mutating func group(_ number: UInt32, start: UInt64, header: PayloadHeader) -> Group? {
        if let group = self.groups[number] {
            guard group.startOffset == start, group.parityCount == Int(header.parityShards) else {
                self.reject(number)
                return nil
            }
            return group
        }
        if self.groups.count >= self.maxGroups {
            // Shed a finished record first; else the newest group, the one least likely needed
            // soon. Never the oldest: it is the one a stalled stream waits on.
            let victim =
                self.groups.first(where: { $0.value.rebuilt })?.key
                ?? self.groups.max(by: { $0.value.startOffset < $1.value.startOffset })?.key
            if let victim { self.groups.removeValue(forKey: victim) }
        }
        return Group(
            startOffset: start,
            nominalData: max(Int(header.dataShards), 1),
            parityCount: Int(header.parityShards)
        )
    }

    private mutating func rebuildIfPossible(_ number: UInt32) -> Rebuild? {
        guard var group = self.groups[number], !group.rebuilt, let count = group.dataCount,
            let size = group.shardBytes, let last = group.lastShardBytes,
            group.data.count < count, group.data.count + group.parity.count >= count
        else { return nil }
        group.rebuilt = true
        // Keep the record (marked rebuilt) so late shards of this group are ignored; drop its bytes.
        let shards: [ByteBuffer?] =
            (0..<count).map { group.data[$0] } + (0..<group.parityCount).map { group.parity[$0] }
        group.data.removeAll()
        group.parity.removeAll()
        self.groups[number] = group
        self.rebuiltGroups += 1
        return Rebuild(
            group: number,
            startOffset: group.startOffset,
            dataCount: count,
            parityCount: group.parityCount,
            shardBytes: size,
            lastShardBytes: last,
            shards: shards
        )
    }

    private mutating func reject(_ number: UInt32) {
        self.rejectedGroups += 1
        self.groups.removeValue(forKey: number)
    }
}
