import NIOCore
import TCSplitterCore
import Testing

/// The sender groups payloads for FEC; the receiver collects shards and asks for rebuilds.
@Suite struct FECGroupAssemblerTests {
    static func payload(_ offset: Int, _ length: Int, end: Bool = false) -> OutboundPayload {
        OutboundPayload(offset: UInt64(offset), data: .stream(offset: offset, count: length), isEndOfStream: end)
    }

    @Test("a group closes after `data` payloads, numbered and indexed in order")
    func fullGroups() {
        var assembler = FECGroupAssembler(dataShards: 3, parityShards: 2, payloadBytes: 10)
        var closed: [FECGroupAssembler.ClosedGroup] = []
        var fields: [PayloadHeaderFields] = []
        for index in 0..<6 {
            let placed = assembler.add(Self.payload(index * 10, 10))
            fields.append(placed.header)
            if let group = placed.closed { closed.append(group) }
        }
        #expect(fields.map(\.shardIndex) == [0, 1, 2, 0, 1, 2])
        #expect(fields.map(\.group) == [0, 0, 0, 1, 1, 1])
        #expect(fields.allSatisfy { $0.dataShards == 3 && $0.parityShards == 2 })
        #expect(closed.map(\.startOffset) == [0, 30])
        #expect(closed.allSatisfy { $0.data.count == 3 && $0.shardBytes == 10 && $0.lastShardBytes == 10 })
        #expect(!assembler.hasOpenGroup)
    }

    @Test("a partial payload (the tail) or the end of stream closes a group early; tock closes an open one")
    func earlyClose() {
        var assembler = FECGroupAssembler(dataShards: 4, parityShards: 1, payloadBytes: 10)
        #expect(assembler.add(Self.payload(0, 10)).closed == nil)
        let tail = assembler.add(Self.payload(10, 4)).closed
        #expect(tail?.data.count == 2)
        #expect(tail?.lastShardBytes == 4)
        #expect(assembler.add(Self.payload(14, 10)).closed == nil)
        #expect(assembler.hasOpenGroup)
        let tocked = assembler.closeOpenGroup()
        #expect(tocked?.startOffset == 14)
        #expect(tocked?.data.count == 1)
        #expect(assembler.closeOpenGroup() == nil)
        #expect(assembler.add(Self.payload(24, 10, end: true)).closed?.data.count == 1)
    }
}

extension FECGroupAssembler.ClosedGroup: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.group == rhs.group && lhs.startOffset == rhs.startOffset && lhs.data == rhs.data
    }
}

@Suite struct FECShardCollectorTests {
    static let id = SessionID(rawValue: 1)

    static func data(
        group: UInt32, index: Int, start: Int, length: Int = 10, dataShards: UInt8 = 3
    ) -> (PayloadHeader, ByteBuffer) {
        let offset = start + index * 10
        return (
            PayloadHeader(
                sessionID: id, offset: UInt64(offset), group: group, shardIndex: UInt8(index),
                dataShards: dataShards, parityShards: 2
            ),
            .stream(offset: offset, count: length)
        )
    }

    static func parity(
        group: UInt32, index: Int, start: Int, dataCount: Int = 3, last: UInt32 = 10, size: Int = 10
    )
        -> (PayloadHeader, ByteBuffer)
    {
        var bytes = ByteBuffer()
        bytes.writeInteger(last)
        bytes.writeRepeatingByte(0xAB, count: size)
        return (
            PayloadHeader(
                sessionID: id, offset: UInt64(start), group: group, shardIndex: UInt8(dataCount + index),
                dataShards: UInt8(dataCount), parityShards: 2, flags: .parity
            ),
            bytes
        )
    }

    @Test("a rebuild is asked for as soon as any `data` shards are in and a data shard is missing")
    func rebuildsEarly() {
        var collector = FECShardCollector(payloadBytes: 10, maxGroups: 8)
        let d0 = Self.data(group: 5, index: 0, start: 100)
        let d2 = Self.data(group: 5, index: 2, start: 100)
        #expect(collector.data(d0.0, d0.1) == nil)
        #expect(collector.data(d2.0, d2.1) == nil)  // 2 of 3, and the data count is not known yet
        let p1 = Self.parity(group: 5, index: 1, start: 100)
        let rebuild = collector.parity(p1.0, p1.1)
        #expect(rebuild != nil)
        #expect(rebuild?.startOffset == 100)
        #expect(rebuild?.dataCount == 3)
        #expect(rebuild?.shards.map { $0 != nil } == [true, false, true, false, true])
        #expect(rebuild?.range(ofDataShard: 1) == 110..<120)
        #expect(collector.rebuiltGroups == 1)
        // A straggler after the rebuild is ignored.
        let d1 = Self.data(group: 5, index: 1, start: 100)
        #expect(collector.data(d1.0, d1.1) == nil)
    }

    @Test("the last shard of an early-closed group has its true length from the parity")
    func shortLastShard() {
        var collector = FECShardCollector(payloadBytes: 10, maxGroups: 8)
        let p0 = Self.parity(group: 1, index: 0, start: 0, dataCount: 2, last: 4)
        #expect(collector.parity(p0.0, p0.1) == nil)
        let d1 = Self.data(group: 1, index: 1, start: 0, length: 4)
        let rebuild = collector.data(d1.0, d1.1)
        #expect(rebuild?.lastShardBytes == 4)
        #expect(rebuild?.range(ofDataShard: 1) == 10..<14)
        #expect(rebuild?.range(ofDataShard: 0) == 0..<10)
    }

    @Test("shards that do not fit their group drop the group, never trusted")
    func rejectsMisfits() {
        var collector = FECShardCollector(payloadBytes: 10, maxGroups: 8)
        // Parity claiming a shard size other than the payload size.
        let wrongSize = Self.parity(group: 1, index: 0, start: 0, size: 12)
        #expect(collector.parity(wrongSize.0, wrongSize.1) == nil)
        #expect(collector.rejectedGroups == 1)
        // A last-shard length larger than the shard.
        let wrongLast = Self.parity(group: 2, index: 0, start: 0, last: 11)
        #expect(collector.parity(wrongLast.0, wrongLast.1) == nil)
        // A data shard whose offset puts the group elsewhere than the parity says.
        let p = Self.parity(group: 3, index: 0, start: 300)
        _ = collector.parity(p.0, p.1)
        let misplaced = Self.data(group: 3, index: 1, start: 500)
        #expect(collector.data(misplaced.0, misplaced.1) == nil)
        // A parity index outside the group.
        var outside = Self.parity(group: 4, index: 0, start: 0)
        outside.0.shardIndex = 7
        #expect(collector.parity(outside.0, outside.1) == nil)
        #expect(collector.rejectedGroups == 4)
        #expect(collector.heldGroups == 0)
    }

    @Test("a group whose data all came keeps no bytes, and groups are forgotten once delivered past")
    func forgetting() {
        var collector = FECShardCollector(payloadBytes: 10, maxGroups: 8)
        for index in 0..<3 {
            let shard = Self.data(group: 0, index: index, start: 0)
            #expect(collector.data(shard.0, shard.1) == nil)
        }
        let late = Self.parity(group: 0, index: 0, start: 0)
        #expect(collector.parity(late.0, late.1) == nil)
        let other = Self.data(group: 1, index: 0, start: 30)
        _ = collector.data(other.0, other.1)
        #expect(collector.heldGroups == 2)
        collector.forget(deliveredUpTo: 30)
        #expect(collector.heldGroups == 1)
        collector.forget(deliveredUpTo: 60)
        #expect(collector.heldGroups == 0)
    }

    @Test("past the cap, the oldest (most needed) group is kept and the newest shed")
    func eviction() {
        var collector = FECShardCollector(payloadBytes: 10, maxGroups: 2)
        for group in 0..<3 {
            let shard = Self.data(group: UInt32(group), index: 0, start: group * 30)
            _ = collector.data(shard.0, shard.1)
        }
        #expect(collector.heldGroups == 2)
        #expect(collector.describe(offset: 0).contains("group 0"))
        #expect(collector.describe(offset: 60).contains("group 2"))
        #expect(collector.describe(offset: 30).contains("no group"))
    }
}

extension FECShardCollector.Rebuild: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.group == rhs.group && lhs.startOffset == rhs.startOffset && lhs.shards == rhs.shards
    }
}
