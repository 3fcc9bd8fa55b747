import NIOCore
import TCSplitterCore
import Testing

@testable import TCSplitterFEC

/// Round trips, known answers and input validation of ``ReedSolomonCodec``.
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

    /// Allocator for every buffer the codec returns.
    let allocator = ByteBufferAllocator()

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
            let parity = try codec.encodeParity(data: data, shardBytes: shardBytes, allocator: self.allocator)
            #expect(parity.count == shape.parityShards)
            #expect(parity.allSatisfy { $0.readableBytes == shardBytes })
            let group = data + parity

            var failures = 0
            for erased in patterns {
                let shards = ShardFixtures.erase(erased, from: group)
                let rebuilt = try codec.reconstructData(
                    shards: shards,
                    shardBytes: shardBytes,
                    allocator: self.allocator
                )
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
        let group = data + (try codec.encodeParity(data: data, shardBytes: 7, allocator: self.allocator))
        for erasures in (shape.parityShards + 1)...total {
            var indices = Array(0..<total)
            indices.shuffle(using: &rng)
            let shards = ShardFixtures.erase(Array(indices.prefix(erasures)), from: group)
            #expect(throws: FECError.unrecoverable(present: total - erasures, required: shape.dataShards)) {
                try codec.reconstructData(shards: shards, shardBytes: 7, allocator: self.allocator)
            }
        }
    }

    @Test("Parity matches ISA-L's Cauchy matrix for 1+1 and 3+2")
    func parityMatchesKnownCauchyCoefficients() throws {
        let single = try ReedSolomonCodec(dataShards: 1, parityShards: 1)
        let payload = ByteBuffer(bytes: [0x00, 0x01, 0x5A, 0xFF])
        #expect(try single.encodeParity(data: [payload], shardBytes: 4, allocator: self.allocator) == [payload])

        // Rows 3 and 4 of gf_gen_cauchy1_matrix(5, 3): 1 / (i xor j) in GF(2^8) mod 0x11D.
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let columns: [[UInt8]] = [[0xF4, 0x47], [0x8E, 0xA7], [0x01, 0x7A]]
        for (column, expected) in columns.enumerated() {
            let data = (0..<3).map { ByteBuffer(bytes: [$0 == column ? 0x01 : 0x00]) }
            let parity = try codec.encodeParity(data: data, shardBytes: 1, allocator: self.allocator)
            #expect(parity == expected.map { ByteBuffer(bytes: [$0]) })
        }
    }

    @Test("Shards that are slices with a reader offset round trip and are left untouched")
    func slicedShardsAreNotModified() throws {
        let codec = try ReedSolomonCodec(dataShards: 4, parityShards: 2)
        var rng = SplitMix64(seed: 42)
        var backing = ShardFixtures.randomShards(count: 1, shardBytes: 4 * 100 + 3, using: &rng)[0]
        backing.moveReaderIndex(forwardBy: 3)
        let data = (0..<4).compactMap { _ in backing.readSlice(length: 100) }
        let snapshot = data.map { ByteBuffer(bytes: Array($0.readableBytesView)) }

        let parity = try codec.encodeParity(data: data, shardBytes: 100, allocator: self.allocator)
        let shards = ShardFixtures.erase([0, 2], from: data + parity)
        let rebuilt = try codec.reconstructData(shards: shards, shardBytes: 100, allocator: self.allocator)
        #expect(rebuilt == snapshot)
        #expect(data == snapshot)
        #expect(rebuilt[1].readerIndex == data[1].readerIndex)
    }

    @Test("Without parity, encoding yields nothing and every data shard is needed")
    func zeroParity() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 0)
        var rng = SplitMix64(seed: 3)
        let data = ShardFixtures.randomShards(count: 3, shardBytes: 16, using: &rng)
        #expect(try codec.encodeParity(data: data, shardBytes: 16, allocator: self.allocator).isEmpty)
        #expect(try codec.reconstructData(shards: data, shardBytes: 16, allocator: self.allocator) == data)
        #expect(throws: FECError.unrecoverable(present: 2, required: 3)) {
            try codec.reconstructData(shards: [data[0], nil, data[2]], shardBytes: 16, allocator: self.allocator)
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
        let parity = try codec.encodeParity(data: data, shardBytes: 3, allocator: self.allocator)
        var shards: [ByteBuffer?] = [nil] + parity.map { Optional($0) }
        shards[1] = nil
        #expect(try codec.reconstructData(shards: shards, shardBytes: 3, allocator: self.allocator) == data)
    }

    @Test("A wrong number of shards is rejected")
    func wrongShardCount() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let shard = ByteBuffer(bytes: [1, 2])
        #expect(throws: FECError.wrongShardCount(expected: 3, actual: 2)) {
            try codec.encodeParity(data: [shard, shard], shardBytes: 2, allocator: self.allocator)
        }
        #expect(throws: FECError.wrongShardCount(expected: 5, actual: 6)) {
            try codec.reconstructData(
                shards: Array(repeating: shard, count: 6),
                shardBytes: 2,
                allocator: self.allocator
            )
        }
        #expect(throws: FECError.wrongShardCount(expected: 5, actual: 0)) {
            try codec.reconstructData(shards: [], shardBytes: 2, allocator: self.allocator)
        }
    }

    @Test("A shard of the wrong size is rejected, even a spare parity shard")
    func wrongShardLength() throws {
        let codec = try ReedSolomonCodec(dataShards: 3, parityShards: 2)
        let good = ByteBuffer(bytes: [1, 2, 3, 4])
        let short = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: FECError.wrongShardLength(index: 1, expected: 4, actual: 3)) {
            try codec.encodeParity(data: [good, short, good], shardBytes: 4, allocator: self.allocator)
        }
        let parity = try codec.encodeParity(data: [good, good, good], shardBytes: 4, allocator: self.allocator)
        let long = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        #expect(throws: FECError.wrongShardLength(index: 4, expected: 4, actual: 5)) {
            try codec.reconstructData(
                shards: [nil, good, good, parity[0], long],
                shardBytes: 4,
                allocator: self.allocator
            )
        }
        #expect(throws: FECError.wrongShardLength(index: 0, expected: 4, actual: 0)) {
            try codec.reconstructData(
                shards: [ByteBuffer(), good, good, nil, nil],
                shardBytes: 4,
                allocator: self.allocator
            )
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
            try codec.encodeParity(data: [shard, shard], shardBytes: shardBytes, allocator: self.allocator)
        }
        #expect(throws: FECError.invalidShardSize(bytes: shardBytes)) {
            try codec.reconstructData(shards: [shard, nil, shard], shardBytes: shardBytes, allocator: self.allocator)
        }
    }
}
