import NIOCore
import TCSplitterCore
import Testing

@testable import TCSplitterFEC

/// The per-loss-pattern decode table cache, directly and through ``ReedSolomonCodec``'s group API
/// (groups written shard by shard and packed by ``GroupPacking``).
@Suite struct DecodeTableCacheTests {
    /// A 4+4 codec and one encoded group of 32-byte shards.
    func makeGroup() throws -> (codec: ReedSolomonCodec, data: [ByteBuffer], group: [ByteBuffer]) {
        let codec = try ReedSolomonCodec(dataShards: 4, parityShards: 4)
        var rng = SplitMix64(seed: 7)
        let data = ShardFixtures.randomShards(count: 4, shardBytes: 32, using: &rng)
        let parity = try GroupPacking.encodeParity(codec, data: data, shardBytes: 32)
        return (codec, data, data + parity)
    }

    @Test("Repeating a loss pattern reuses its cached decode tables")
    func repeatedPatternHitsCache() throws {
        let (codec, data, group) = try self.makeGroup()
        let shards = ShardFixtures.erase([1, 3], from: group)
        for _ in 0..<10 {
            #expect(try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 32) == data)
        }
        #expect(codec.cachedPatternCount == 1)
        #expect(codec.decodeCacheMisses == 1)
        #expect(codec.decodeCacheHits == 9)
    }

    @Test("Patterns that read the same shards share one cache entry")
    func samePatternSharesEntry() throws {
        let (codec, data, group) = try self.makeGroup()
        // Both read shards 1, 2, 3, 4: the extra lost parity shard does not change the plan.
        for erased in [[0], [0, 7], [0, 5, 6]] {
            let shards = ShardFixtures.erase(erased, from: group)
            #expect(try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 32) == data)
        }
        #expect(codec.cachedPatternCount == 1)
        #expect(codec.decodeCacheHits == 2)
    }

    @Test("A group with every data shard present needs no decode tables")
    func noLossSkipsCache() throws {
        let (codec, data, group) = try self.makeGroup()
        let shards = ShardFixtures.erase([4, 5, 6, 7], from: group)
        #expect(try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 32) == data)
        #expect(codec.cachedPatternCount == 0)
        #expect(codec.decodeCacheMisses == 0)
    }

    @Test("The cache stays bounded while every 10+3 loss pattern is decoded twice")
    func cacheStaysBounded() throws {
        let codec = try ReedSolomonCodec(dataShards: 10, parityShards: 3)
        var rng = SplitMix64(seed: 13)
        let data = ShardFixtures.randomShards(count: 10, shardBytes: 8, using: &rng)
        let group = data + (try GroupPacking.encodeParity(codec, data: data, shardBytes: 8))
        let patterns = (1...3).flatMap { ShardFixtures.combinations(of: $0, from: 13) }
        for erased in patterns + patterns {
            let shards = ShardFixtures.erase(erased, from: group)
            #expect(try GroupPacking.reconstructData(codec, shards: shards, shardBytes: 8) == data)
            #expect(codec.cachedPatternCount <= ReedSolomonCodec.decodeCacheCapacity)
        }
        #expect(codec.cachedPatternCount == ReedSolomonCodec.decodeCacheCapacity)
    }

    @Test("When full, the least recently used plan is evicted")
    func evictsLeastRecentlyUsed() {
        var cache = DecodeTableCache(capacity: 2)
        let keys = (0..<3).map { index -> ShardSet in
            var set = ShardSet()
            set.insert(index)
            return set
        }
        for key in keys.prefix(2) where cache.plan(for: key) == nil {
            cache.insert(DecodePlan(sourceRows: [], erasedDataRows: [], tables: []), for: key)
        }
        #expect(cache.plan(for: keys[0]) != nil)  // keys[0] is now newer than keys[1]
        cache.insert(DecodePlan(sourceRows: [], erasedDataRows: [], tables: []), for: keys[2])
        #expect(cache.count == 2)
        #expect(cache.plan(for: keys[1]) == nil)
        #expect(cache.plan(for: keys[0]) != nil)
        #expect(cache.plan(for: keys[2]) != nil)
    }

    @Test("Shard sets hold indices across all four 64-bit words")
    func shardSetCoversAllWords() {
        var set = ShardSet()
        for index in [0, 63, 64, 127, 128, 191, 192, 255] {
            set.insert(index)
        }
        #expect([0, 63, 64, 127, 128, 191, 192, 255].allSatisfy { set.contains($0) })
        #expect(![1, 62, 65, 126, 129, 190, 193, 254, 256, -1].contains { set.contains($0) })
    }
}
