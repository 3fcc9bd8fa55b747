import NIOCore
import TCSplitterCore

/// Builders for shard groups and loss patterns used by the FEC tests.
enum ShardFixtures {
    /// `count` shards of `shardBytes` random bytes each.
    static func randomShards(count: Int, shardBytes: Int, using rng: inout SplitMix64) -> [ByteBuffer] {
        (0..<count).map { _ in
            var bytes = [UInt8](repeating: 0, count: shardBytes)
            var index = 0
            while index < shardBytes {
                var word = rng.next()
                for _ in 0..<min(8, shardBytes - index) {
                    bytes[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            return ByteBuffer(bytes: bytes)
        }
    }

    /// Number of ways to pick `choose` of `from` items, saturating at `Int.max`.
    static func binomial(_ from: Int, _ choose: Int) -> Int {
        guard choose >= 0, choose <= from else { return 0 }
        var result = 1
        for step in 0..<min(choose, from - choose) {
            let (product, overflow) = result.multipliedReportingOverflow(by: from - step)
            guard !overflow else { return Int.max }
            result = product / (step + 1)
        }
        return result
    }

    /// Every set of `count` indices out of 0 ..< `total`, ascending.
    static func combinations(of count: Int, from total: Int) -> [[Int]] {
        guard count > 0 else { return [[]] }
        var result = [[Int]]()
        var current = Array(0..<count)
        while true {
            result.append(current)
            var position = count - 1
            while position >= 0, current[position] == total - count + position {
                position -= 1
            }
            guard position >= 0 else { return result }
            current[position] += 1
            for next in (position + 1)..<count {
                current[next] = current[next - 1] + 1
            }
        }
    }

    /// Erasure patterns of 0 ... `maximumErasures` shards out of `total`: all of them if there are at
    /// most `exhaustiveLimit`, otherwise the edge cases plus `sampleCount` seeded random patterns.
    static func erasurePatterns(
        total: Int,
        maximumErasures: Int,
        exhaustiveLimit: Int = 5_000,
        sampleCount: Int,
        using rng: inout SplitMix64
    ) -> [[Int]] {
        let patternCount = (0...maximumErasures).reduce(0) { sum, erasures in
            let (next, overflow) = sum.addingReportingOverflow(Self.binomial(total, erasures))
            return overflow ? Int.max : next
        }
        if patternCount <= exhaustiveLimit {
            return (0...maximumErasures).flatMap { Self.combinations(of: $0, from: total) }
        }
        let dataShards = total - maximumErasures
        var patterns: [[Int]] = [
            [],
            Array(0..<maximumErasures),  // the first data shards
            Array(dataShards..<total),  // every parity shard
            Array(max(0, dataShards - maximumErasures)..<dataShards),  // the last data shards
        ]
        for _ in 0..<sampleCount {
            let erasures = Int.random(in: 1...maximumErasures, using: &rng)
            var indices = Array(0..<total)
            indices.shuffle(using: &rng)
            patterns.append(indices.prefix(erasures).sorted())
        }
        return patterns
    }

    /// `shards` with the entries at `erased` replaced by `nil`.
    static func erase(_ erased: [Int], from shards: [ByteBuffer]) -> [ByteBuffer?] {
        var result = shards.map { Optional($0) }
        for index in erased {
            result[index] = nil
        }
        return result
    }
}
