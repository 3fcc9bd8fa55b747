import NIOCore
import TCSplitterCore
import Testing

@testable import TCSplitterFEC

/// Round trips, known answers and input validation of ``ReedSolomonCodec``, with groups written
/// shard by shard and packed by ``GroupPacking``.
@Suite struct ReedSolomonCodecTests {
    /// One `(data, parity)` configuration and the shard sizes to try it with.
    struct Shape: Sendable, CustomTestStringConvertible {
        /// Data shards per group.
        var dataShards: Int
        /// Parity shards per group.
        var parityShards: Int
        /// Shard sizes in bytes.
        var shardSizes: [Int]
        /// Random loss patterns tried when there are too many to enumerate.
        var sampleCount = 0

        /// Shown by the test runner, e.g. `10+3`.
        var testDescription: String { "\(self.dataShards)+\(self.parityShards)" }
    }

    /// Configurations exercised by the round-trip tests.
    static let shapes: [Shape] = [
        Shape(dataShards: 1, parityShards: 0, shardSizes: [1, 7, 1400]),
        Shape(dataShards: 1, parityShards: 1, shardSizes: [1, 7, 1400]),
        Shape(dataShards: 2, parityShards: 1, shardSizes: [1, 7, 1400]),
        Shape(dataShards: 3, parityShards: 2, shardSizes: [1, 7, 1400]),
        Shape(dataShards: 4, parityShards: 4, shardSizes: [1, 7, 1400, 65_536]),
        Shape(dataShards: 10, parityShards: 3, shardSizes: [1, 7, 1400, 65_536]),
        Shape(dataShards: 20, parityShards: 10, shardSizes: [1, 7, 1400], sampleCount: 2_000),
        Shape(dataShards: 100, parityShards: 20, shardSizes: [7, 1400], sampleCount: 200),
        Shape(dataShards: 200, parityShards: 55, shardSizes: [7, 1400], sampleCount: 60),
    ]

    @Test("Every erasure pattern of up to parity shards rebuilds the original data", arguments: Self.shapes)
    func everyRecoverablePatternRoundTrips(shape: Shape) throws {
        let codec = try ReedSolomonCodec(dataShards: shape.dataShards, parityShards: shape.parityShards)
        let total = shape.dataShards + shape.parityShards
        var rng = SplitMix64(seed: UInt64(total * 1_000 + shape.parityShards))
        let patterns = ShardFixtures.erasurePatterns(
            total: total,
            maximumErasures: shape.parityShards,
            sampleCount: shape.sampleCount,
            using: &rng
        )
        for shardBytes in shape.shardSizes {
            let data = ShardFixtures.randomShards(count: shape.dataShards, shardBytes: shardBytes, using: &rng)
            let parity = try GroupPacking.encodeParity(codec, data: data, shardBytes: shardBytes)
            #expect(parity.count == shape.parityShards)
            #expect(parity.allSatisfy { $0.readableBytes == shardBytes })
            let group = data + parity

            var failures = 0
            for erased in patterns {
                let shards = ShardFixtures.erase(erased, from: group)
                let rebuilt = try GroupPacking.reconstructData(codec, shards: shards, shardBytes: shardBytes)
                if rebuilt != data {
                    failures += 1
                    Issue.record("\(shape.testDescription) x \(shardBytes) B: erasing \(erased) gave wrong data")
                    if failures > 3 { return }
                }
            }
        }
    }

    @Test("Losing more shards than there is parity is unrecoverable, never wrong data", arguments: Self.shapes)
    func tooManyErasuresAreUnrecoverable(shape: Shape) throws {
        let codec = try ReedSolomonCodec(dataShards: shape.dataShards, parityShards: shape.parityShards)
        let total = shape.dataShards + shape.parityShards
        var rng = SplitMix64(seed: UInt64(total))
        let data = ShardFixtures.randomShards(count: shape.dataShards, shardBytes: 7, using: &rng)
        let group = data + (try GroupPacking.encodeParity(codec, data: data, shardBytes: 7))
        for erasures in (shape.parityShards + 1)...total {
            var indices = Array(0..<total)
            indices.shuffle(using: &rng)
            let shards = ShardFixtures.erase(Array(indices.prefix(erasures)), from: group)
            #expect(throws: FECError.unrecoverable(present: total - erasures, required: shape.dataShards)) {
                try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 7)
            }
        }
    }

    @Test("Parity matches ISA-L's Cauchy matrix for 1+1 and 3+2")
    func parityMatchesKnownCauchyCoefficients() throws {
        let single = try ReedSolomonCodec(dataShards: 1, parityShards: 1)
        let payload = ByteBuffer(bytes: [0x00, 0x01, 0x5A, 0xFF])
        #expect(try GroupPacking.encodeParity(single, data: [payload], shardBytes: 4) == [payload])

        // Rows 3 and 4 of gf_gen_cauchy1_matrix(5, 3): 1 / (i xor j) in GF(2^8) mod 0x11D.
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let columns: [[UInt8]] = [[0xF4, 0x47], [0x8E, 0xA7], [0x01, 0x7A]]
        for (column, expected) in columns.enumerated() {
            let data = (0..<3).map { ByteBuffer(bytes: [$0 == column ? 0x01 : 0x00]) }
            let parity = try GroupPacking.encodeParity(codec, data: data, shardBytes: 1)
            #expect(parity == expected.map { ByteBuffer(bytes: [$0]) })
        }
    }

    @Test("Groups that are slices of a shared buffer round trip, and the shared bytes are left untouched")
    func slicedShardsAreNotModified() throws {
        let codec = try ReedSolomonCodec(dataShards: 4, parityShards: 2)
        var rng = SplitMix64(seed: 42)
        var backing = ShardFixtures.randomShards(count: 1, shardBytes: 4 * 100 + 3, using: &rng)[0]
        backing.moveReaderIndex(forwardBy: 3)
        let snapshot = Array(backing.readableBytesView)
        let dataGroup = try #require(backing.getSlice(at: backing.readerIndex, length: 400))
        let data = GroupPacking.unpack(dataGroup, count: 4, shardBytes: 100)

        // Encoding only reads the data group: the buffer it was sliced from keeps its bytes.
        var parity = ByteBuffer()
        try codec.encodeParity(group: dataGroup, shardBytes: 100, into: &parity)
        #expect(Array(dataGroup.readableBytesView) == snapshot)
        #expect(Array(backing.readableBytesView) == snapshot)
        let expectedParity = CauchyReference.parity(of: data, parityShards: 2)
        #expect(GroupPacking.unpack(parity, count: 2, shardBytes: 100) == expectedParity)

        // Rebuilding writes into a slice whose storage another buffer shares: NIO copies the slice
        // first, so the other buffer still sees the lost slots 0 and 2 as they were.
        var whole = GroupPacking.pack([ByteBuffer(bytes: [9, 9, 9, 9, 9])] + data + [parity])
        for lost in [0, 2] {
            whole.setRepeatingByte(GroupPacking.garbage, count: 100, at: 5 + lost * 100)
        }
        let wholeBefore = Array(whole.readableBytesView)
        var group = try #require(whole.getSlice(at: 5, length: 600))
        try codec.reconstructData(group: &group, present: ShardSet([1, 3, 4, 5]), shardBytes: 100)
        #expect(GroupPacking.unpack(group, count: 4, shardBytes: 100) == data)
        #expect((group.readerIndex, group.writerIndex) == (0, 600))
        #expect(Array(whole.readableBytesView) == wholeBefore)
        #expect(whole.getSlice(at: 5, length: 100) == ByteBuffer(repeating: GroupPacking.garbage, count: 100))
    }

    @Test("Without parity, encoding yields nothing and every data shard is needed")
    func zeroParity() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 0)
        var rng = SplitMix64(seed: 3)
        let data = ShardFixtures.randomShards(count: 3, shardBytes: 16, using: &rng)
        #expect(try GroupPacking.encodeParity(codec, data: data, shardBytes: 16).isEmpty)
        #expect(try GroupPacking.reconstructData(codec, shards: data, shardBytes: 16) == data)
        #expect(throws: FECError.unrecoverable(present: 2, required: 3)) {
            try GroupPacking.reconstructData(codec, shards: [data[0], nil, data[2]], shardBytes: 16)
        }
    }

    @Test(
        "Invalid shard counts are rejected with the broken rule",
        arguments: [
            (0, 1, FECError.invalidDataShardCount(0)),
            (-3, 1, FECError.invalidDataShardCount(-3)),
            (1, -1, FECError.invalidParityShardCount(-1)),
            (200, 56, FECError.tooManyShards(total: 256, maximum: 255)),
            (256, 0, FECError.tooManyShards(total: 256, maximum: 255)),
            (Int.max, 1, FECError.tooManyShards(total: Int.max, maximum: 255)),
        ]
    )
    func invalidConfigurations(dataShards: Int, parityShards: Int, expected: FECError) {
        #expect(throws: expected) {
            _ = try ReedSolomonCodec(dataShards: dataShards, parityShards: parityShards)
        }
    }

    @Test("The largest groups, 255+0 and 1+254, are accepted")
    func largestGroups() throws {
        #expect(try ReedSolomonCodec(dataShards: 255, parityShards: 0).totalShards == 255)
        let codec = try ReedSolomonCodec(dataShards: 1, parityShards: 254)
        let data = [ByteBuffer(bytes: [1, 2, 3])]
        let parity = try GroupPacking.encodeParity(codec, data: data, shardBytes: 3)
        #expect(parity.count == 254)
        var shards: [ByteBuffer?] = [nil] + parity.map { Optional($0) }
        shards[1] = nil
        #expect(try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 3) == data)
    }

    @Test("A wrong number of shards makes a group of the wrong length, and is rejected")
    func wrongShardCount() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let shard = ByteBuffer(bytes: [1, 2])
        #expect(throws: FECError.wrongGroupLength(expected: 6, actual: 4)) {
            try GroupPacking.encodeParity(codec, data: [shard, shard], shardBytes: 2)
        }
        #expect(throws: FECError.wrongGroupLength(expected: 10, actual: 12)) {
            try GroupPacking.reconstructData(codec, shards: Array(repeating: shard, count: 6), shardBytes: 2)
        }
        #expect(throws: FECError.wrongGroupLength(expected: 10, actual: 0)) {
            try GroupPacking.reconstructData(codec, shards: [], shardBytes: 2)
        }
    }

    @Test("A shard of the wrong size makes a group of the wrong length, even a spare parity shard")
    func wrongShardLength() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let good = ByteBuffer(bytes: [1, 2, 3, 4])
        let short = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: FECError.wrongGroupLength(expected: 12, actual: 11)) {
            try GroupPacking.encodeParity(codec, data: [good, short, good], shardBytes: 4)
        }
        let parity = try GroupPacking.encodeParity(codec, data: [good, good, good], shardBytes: 4)
        let long = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        #expect(throws: FECError.wrongGroupLength(expected: 20, actual: 21)) {
            try GroupPacking.reconstructData(codec, shards: [nil, good, good, parity[0], long], shardBytes: 4)
        }
        #expect(throws: FECError.wrongGroupLength(expected: 20, actual: 16)) {
            try GroupPacking.reconstructData(codec, shards: [ByteBuffer(), good, good, nil, nil], shardBytes: 4)
        }
    }

    @Test(
        "Shard sizes outside 1 ... maximumShardBytes are rejected",
        arguments: [0, -1, ReedSolomonCodec.maximumShardBytes + 1]
    )
    func invalidShardSize(shardBytes: Int) throws {
        let codec = try ReedSolomonCodec(dataShards: 2, parityShards: 1)
        let shard = ByteBuffer(bytes: [1])
        #expect(throws: FECError.invalidShardSize(bytes: shardBytes)) {
            try GroupPacking.encodeParity(codec, data: [shard, shard], shardBytes: shardBytes)
        }
        #expect(throws: FECError.invalidShardSize(bytes: shardBytes)) {
            try GroupPacking.reconstructData(codec, shards: [shard, nil, shard], shardBytes: shardBytes)
        }
    }
}
