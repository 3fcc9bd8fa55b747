import NIOCore
import TCSplitterCore
import Testing

@testable import TCSplitterFEC

/// The group API of ``ReedSolomonCodec``: one contiguous buffer per group,
/// ``ReedSolomonCodec/encodeParity(group:shardBytes:into:)`` and
/// ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``.
@Suite struct GroupCodecTests {
    /// Byte written into slots that hold no shard, so a read of a missing slot shows up as wrong data.
    static let garbage = GroupPacking.garbage

    /// Configurations exercised by the round-trip test: exhaustive where the pattern count allows.
    static let shapes: [ReedSolomonCodecTests.Shape] = [
        .init(dataShards: 1, parityShards: 0, shardSizes: [1, 1400]),
        .init(dataShards: 1, parityShards: 1, shardSizes: [1, 7, 1400]),
        .init(dataShards: 2, parityShards: 1, shardSizes: [1, 7, 1400]),
        .init(dataShards: 3, parityShards: 2, shardSizes: [1, 7, 1400]),
        .init(dataShards: 4, parityShards: 4, shardSizes: [1, 7, 1400, 65_536]),
        .init(dataShards: 10, parityShards: 3, shardSizes: [1, 7, 1400]),
        .init(dataShards: 20, parityShards: 10, shardSizes: [7, 1400], sampleCount: 1_000),
        .init(dataShards: 200, parityShards: 55, shardSizes: [7], sampleCount: 40),
    ]

    /// Allocator for every buffer the tests build.
    let allocator = ByteBufferAllocator()

    /// Slot `index` of `group` (shards of `shardBytes`, counted from the reader index).
    func slot(_ index: Int, of group: ByteBuffer, shardBytes: Int) -> ByteBuffer? {
        group.getSlice(at: group.readerIndex + index * shardBytes, length: shardBytes)
    }

    /// The storage address of `buffer`'s readable bytes, to tell whether a call reallocated it.
    func address(of buffer: ByteBuffer) -> UInt? {
        buffer.withUnsafeReadableBytes { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }

    @Test("Every erasure pattern of up to parity slots is rebuilt in place", arguments: Self.shapes)
    func everyRecoverablePatternRoundTrips(shape: ReedSolomonCodecTests.Shape) throws {
        let (k, m) = (shape.dataShards, shape.parityShards)
        let codec = try ReedSolomonCodec(dataShards: k, parityShards: m)
        var rng = SplitMix64(seed: UInt64((k + m) * 7_919 + m))
        let patterns = ShardFixtures.erasurePatterns(
            total: k + m,
            maximumErasures: m,
            sampleCount: shape.sampleCount,
            using: &rng
        )
        for shardBytes in shape.shardSizes {
            let data = ShardFixtures.randomShards(count: k, shardBytes: shardBytes, using: &rng)
            var parity = ByteBuffer()
            try codec.encodeParity(group: GroupPacking.pack(data), shardBytes: shardBytes, into: &parity)
            #expect(parity.readableBytes == m * shardBytes)
            // The parity is the documented Cauchy code, as an independent encoder computes it.
            #expect(parity == GroupPacking.pack(CauchyReference.parity(of: data, parityShards: m)))
            let complete = GroupPacking.pack(data + [parity])

            var failures = 0
            for erased in patterns {
                var group = complete
                for index in erased {
                    group.setRepeatingByte(Self.garbage, count: shardBytes, at: group.readerIndex + index * shardBytes)
                }
                let present = ShardSet((0..<(k + m)).filter { !erased.contains($0) })
                try codec.reconstructData(group: &group, present: present, shardBytes: shardBytes)
                #expect(group.readableBytes == (k + m) * shardBytes)
                // Every data slot holds its shard; present parity slots are untouched, and so are
                // missing parity slots (only missing data is rebuilt).
                let dataCorrect = (0..<k).allSatisfy { self.slot($0, of: group, shardBytes: shardBytes) == data[$0] }
                let parityKept = (k..<(k + m)).allSatisfy { index in
                    let slot = self.slot(index, of: group, shardBytes: shardBytes)
                    let expected =
                        erased.contains(index)
                        ? ByteBuffer(repeating: Self.garbage, count: shardBytes)
                        : self.slot(index, of: complete, shardBytes: shardBytes)
                    return slot == expected
                }
                if !dataCorrect || !parityKept {
                    failures += 1
                    Issue.record(
                        "\(shape.testDescription) x \(shardBytes) B: erasing \(erased): data ok \(dataCorrect), parity kept \(parityKept)"
                    )
                    if failures > 3 { return }
                }
            }
        }
    }

    @Test("A group read from a slice with a reader offset round trips; indices stay put")
    func slicedGroupRoundTrips() throws {
        let codec = try ReedSolomonCodec(dataShards: 4, parityShards: 2)
        var rng = SplitMix64(seed: 99)
        let data = ShardFixtures.randomShards(count: 4, shardBytes: 100, using: &rng)
        var source = self.allocator.buffer(capacity: 3 + 400)
        source.writeBytes([1, 2, 3])
        var packed = GroupPacking.pack(data)
        source.writeBuffer(&packed)
        source.moveReaderIndex(forwardBy: 3)
        var parity = ByteBuffer()
        try codec.encodeParity(group: source, shardBytes: 100, into: &parity)
        #expect(source.readerIndex == 3)  // the input group is only read

        var group = self.allocator.buffer(capacity: 5 + 600)
        group.writeBytes([9, 9, 9, 9, 9])
        group.moveReaderIndex(forwardBy: 5)
        var packedGroup = GroupPacking.pack(data + [parity])
        group.writeBuffer(&packedGroup)
        group.setRepeatingByte(0, count: 200, at: 5 + 100)  // lose data 1 and 2
        try codec.reconstructData(group: &group, present: ShardSet([0, 3, 4, 5]), shardBytes: 100)
        #expect((group.readerIndex, group.writerIndex) == (5, 605))
        #expect((0..<4).map { self.slot($0, of: group, shardBytes: 100) } == data)
    }

    @Test("The parity buffer is reused across calls without reallocating, and appended to")
    func parityBufferIsReused() throws {
        let codec = try ReedSolomonCodec(dataShards: 10, parityShards: 3)
        var rng = SplitMix64(seed: 5)
        var parity = self.allocator.buffer(capacity: 3 * 1400)
        var storage: UInt?
        for _ in 0..<5 {
            let data = ShardFixtures.randomShards(count: 10, shardBytes: 1400, using: &rng)
            parity.clear()
            try codec.encodeParity(group: GroupPacking.pack(data), shardBytes: 1400, into: &parity)
            storage = storage ?? self.address(of: parity)
            #expect(self.address(of: parity) == storage)
            #expect(parity == GroupPacking.pack(CauchyReference.parity(of: data, parityShards: 3)))
        }

        // Without clearing, parity is appended after what the buffer already holds.
        let data = ShardFixtures.randomShards(count: 10, shardBytes: 8, using: &rng)
        var framed = ByteBuffer(bytes: [0xAB, 0xCD])
        try codec.encodeParity(group: GroupPacking.pack(data), shardBytes: 8, into: &framed)
        try codec.encodeParity(group: GroupPacking.pack(data), shardBytes: 8, into: &framed)
        let expected = GroupPacking.pack(CauchyReference.parity(of: data, parityShards: 3))
        #expect(framed == ByteBuffer(bytes: [0xAB, 0xCD]) + expected + expected)
    }

    @Test("Slices of an earlier parity keep their bytes when the buffer is reused")
    func earlierParitySlicesSurviveReuse() throws {
        let codec = try ReedSolomonCodec(dataShards: 2, parityShards: 2)
        var parity = ByteBuffer()
        try codec.encodeParity(group: ByteBuffer(bytes: [1, 2, 3, 4]), shardBytes: 2, into: &parity)
        let kept = parity.getSlice(at: 0, length: 4)
        let snapshot = kept.map { Array($0.readableBytesView) }
        parity.clear()
        try codec.encodeParity(group: ByteBuffer(bytes: [5, 6, 7, 8]), shardBytes: 2, into: &parity)
        #expect(kept.map { Array($0.readableBytesView) } == snapshot)
        #expect(parity != kept)
    }

    @Test("Rebuilding in place reuses the group's storage and repeats a pattern from the cache")
    func reconstructionIsInPlace() throws {
        let codec = try ReedSolomonCodec(dataShards: 10, parityShards: 3)
        var rng = SplitMix64(seed: 6)
        let data = ShardFixtures.randomShards(count: 10, shardBytes: 1400, using: &rng)
        var parity = ByteBuffer()
        try codec.encodeParity(group: GroupPacking.pack(data), shardBytes: 1400, into: &parity)
        var group = GroupPacking.pack(data + [parity])
        let storage = self.address(of: group)
        let present = ShardSet(3..<13)
        for _ in 0..<4 {
            group.setRepeatingByte(0, count: 3 * 1400, at: 0)
            try codec.reconstructData(group: &group, present: present, shardBytes: 1400)
            #expect(self.address(of: group) == storage)
            #expect(self.slot(0, of: group, shardBytes: 1400) == data[0])
        }
        #expect(codec.decodeCacheMisses == 1)
        #expect(codec.decodeCacheHits == 3)
    }

    @Test("With every data slot present nothing is written, whatever the parity slots hold")
    func completeDataIsLeftAlone() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        var group = ByteBuffer(repeating: Self.garbage, count: 5 * 4)
        group.setBytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], at: 0)
        let before = group
        try codec.reconstructData(group: &group, present: ShardSet([0, 1, 2]), shardBytes: 4)
        try codec.reconstructData(group: &group, present: ShardSet([0, 1, 2, 4]), shardBytes: 4)
        #expect(group == before)
        #expect(codec.cachedPatternCount == 0)
    }

    @Test("Without parity, encoding leaves the output alone and every data slot is needed")
    func zeroParity() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 0)
        var parity = ByteBuffer(bytes: [7])
        try codec.encodeParity(group: ByteBuffer(bytes: [1, 2, 3]), shardBytes: 1, into: &parity)
        #expect(parity == ByteBuffer(bytes: [7]))
        var group = ByteBuffer(bytes: [1, 2, 3])
        try codec.reconstructData(group: &group, present: ShardSet([0, 1, 2]), shardBytes: 1)
        #expect(throws: FECError.unrecoverable(present: 2, required: 3)) {
            try codec.reconstructData(group: &group, present: ShardSet([0, 2]), shardBytes: 1)
        }
    }

    @Test(
        "Shard sizes outside 1 ... maximumShardBytes are rejected by both group calls",
        arguments: [0, -1, ReedSolomonCodec.maximumShardBytes + 1, Int.max]
    )
    func invalidShardSize(shardBytes: Int) throws {
        let codec = try ReedSolomonCodec(dataShards: 2, parityShards: 1)
        var parity = ByteBuffer(bytes: [1])
        #expect(throws: FECError.invalidShardSize(bytes: shardBytes)) {
            try codec.encodeParity(group: ByteBuffer(bytes: [1, 2]), shardBytes: shardBytes, into: &parity)
        }
        var group = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: FECError.invalidShardSize(bytes: shardBytes)) {
            try codec.reconstructData(group: &group, present: ShardSet([0, 2]), shardBytes: shardBytes)
        }
        #expect(parity == ByteBuffer(bytes: [1]))
        #expect(group == ByteBuffer(bytes: [1, 2, 3]))
    }

    @Test("A group of the wrong length is rejected, and nothing is written", arguments: [0, 11, 13, 20])
    func wrongGroupLength(length: Int) throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)  // 3 data, 5 slots of 4 bytes
        var parity = ByteBuffer(bytes: [1])
        #expect(throws: FECError.wrongGroupLength(expected: 12, actual: length)) {
            try codec.encodeParity(group: ByteBuffer(repeating: 1, count: length), shardBytes: 4, into: &parity)
        }
        #expect(parity == ByteBuffer(bytes: [1]))

        let groupLength = length + 8  // 8, 19, 21, 28 bytes: never 20
        var group = ByteBuffer(repeating: 2, count: groupLength)
        #expect(throws: FECError.wrongGroupLength(expected: 20, actual: groupLength)) {
            try codec.reconstructData(group: &group, present: ShardSet([1, 2, 3]), shardBytes: 4)
        }
        #expect(group == ByteBuffer(repeating: 2, count: groupLength))
    }

    @Test("A present slot past the group is rejected", arguments: [5, 6, 64, 255])
    func presentIndexOutOfRange(index: Int) throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        var group = ByteBuffer(repeating: 3, count: 20)
        #expect(throws: FECError.shardIndexOutOfRange(index: index, totalShards: 5)) {
            try codec.reconstructData(group: &group, present: ShardSet([1, 2, 3, index]), shardBytes: 4)
        }
        #expect(group == ByteBuffer(repeating: 3, count: 20))
    }

    @Test("Fewer present slots than data shards is unrecoverable, and nothing is written")
    func tooFewPresent() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        var group = ByteBuffer(repeating: 4, count: 20)
        for present in [ShardSet(), ShardSet([4]), ShardSet([0, 4]), ShardSet([2, 3])] {
            #expect(throws: FECError.unrecoverable(present: present.count, required: 3)) {
                try codec.reconstructData(group: &group, present: present, shardBytes: 4)
            }
        }
        #expect(group == ByteBuffer(repeating: 4, count: 20))
        #expect(codec.cachedPatternCount == 0)
    }

    @Test("Shard sets count, order and bound their indices")
    func shardSetQueries() {
        let set = ShardSet([3, 0, 64, 200, 255, 300, -1])
        #expect(set.count == 5)
        #expect(!set.isEmpty && ShardSet().isEmpty)
        #expect(set.minimum == 0 && set.maximum == 255)
        #expect(ShardSet().minimum == nil && ShardSet().maximum == nil)
        #expect(ShardSet([70, 130]).minimum == 70 && ShardSet([70, 130]).maximum == 130)
        var removed = set
        removed.remove(0)
        removed.remove(255)
        removed.remove(999)
        #expect(removed == ShardSet([3, 64, 200]))

        let (first, count, largest) = set.smallest(3)
        #expect(first == ShardSet([0, 3, 64]) && count == 3 && largest == 64)
        let (all, allCount, allLargest) = set.smallest(10)
        #expect(all == set && allCount == 5 && allLargest == 255)
        let (none, noneCount, noneLargest) = ShardSet().smallest(2)
        #expect(none.isEmpty && noneCount == 0 && noneLargest == -1)
        #expect(ShardSet(0..<256).count == 256 && ShardSet(0..<256).smallest(200).largest == 199)
    }
}

extension ByteBuffer {
    /// The readable bytes of both buffers, back to back (test shorthand).
    fileprivate static func + (lhs: ByteBuffer, rhs: ByteBuffer) -> ByteBuffer {
        var result = lhs
        var tail = rhs
        result.writeBuffer(&tail)
        return result
    }
}
