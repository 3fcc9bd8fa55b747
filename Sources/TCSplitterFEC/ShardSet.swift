/// A set of shard indices within one group (0 ..< 256), stored as a 256-bit mask.
///
/// Says which slots of a group hold a shard in
/// ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``, and keys the decode-table
/// cache: the shards chosen to rebuild a group determine the matrix to invert, so equal sets can
/// share one set of decode tables. A plain value: no allocation, cheap to copy and compare.
public struct ShardSet: Hashable, Sendable {
    /// Bits 0 ..< 64.
    private var word0: UInt64 = 0
    /// Bits 64 ..< 128.
    private var word1: UInt64 = 0
    /// Bits 128 ..< 192.
    private var word2: UInt64 = 0
    /// Bits 192 ..< 256.
    private var word3: UInt64 = 0

    /// Creates an empty set.
    public init() {}

    /// Creates a set holding `indices` (values outside 0 ..< 256 are ignored).
    public init<Indices: Sequence>(_ indices: Indices) where Indices.Element == Int {
        for index in indices {
            self.insert(index)
        }
    }

    /// Adds `index` to the set; `index` must be in 0 ..< 256 (values outside are ignored).
    @inline(__always)
    public mutating func insert(_ index: Int) {
        let bit = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: self.word0 |= bit
        case 1: self.word1 |= bit
        case 2: self.word2 |= bit
        case 3: self.word3 |= bit
        default: break
        }
    }

    /// Removes `index` from the set (values outside 0 ..< 256 are ignored).
    @inline(__always)
    public mutating func remove(_ index: Int) {
        let bit = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: self.word0 &= ~bit
        case 1: self.word1 &= ~bit
        case 2: self.word2 &= ~bit
        case 3: self.word3 &= ~bit
        default: break
        }
    }

    /// Whether `index` is in the set.
    @inline(__always)
    public func contains(_ index: Int) -> Bool {
        let bit = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: return self.word0 & bit != 0
        case 1: return self.word1 & bit != 0
        case 2: return self.word2 & bit != 0
        case 3: return self.word3 & bit != 0
        default: return false
        }
    }

    /// Number of indices in the set.
    ///
    /// Baseline x86-64 has no `popcnt`, so this compiles to SSE code; the codec's own hot paths
    /// avoid it (see "SSE after ISA-L" in `ISALErasureCode`).
    public var count: Int {
        self.word0.nonzeroBitCount + self.word1.nonzeroBitCount + self.word2.nonzeroBitCount
            + self.word3.nonzeroBitCount
    }

    /// Whether the set is empty.
    public var isEmpty: Bool { (self.word0 | self.word1 | self.word2 | self.word3) == 0 }

    /// The smallest index in the set, or `nil` if it is empty.
    public var minimum: Int? {
        if self.word0 != 0 { return self.word0.trailingZeroBitCount }
        if self.word1 != 0 { return 64 + self.word1.trailingZeroBitCount }
        if self.word2 != 0 { return 128 + self.word2.trailingZeroBitCount }
        if self.word3 != 0 { return 192 + self.word3.trailingZeroBitCount }
        return nil
    }

    /// The largest index in the set, or `nil` if it is empty.
    public var maximum: Int? {
        if self.word3 != 0 { return 255 - self.word3.leadingZeroBitCount }
        if self.word2 != 0 { return 191 - self.word2.leadingZeroBitCount }
        if self.word1 != 0 { return 127 - self.word1.leadingZeroBitCount }
        if self.word0 != 0 { return 63 - self.word0.leadingZeroBitCount }
        return nil
    }

    /// The `n` smallest indices of the set (all of them if it holds fewer), how many that is,
    /// and the largest of them (`-1` if none).
    ///
    /// Scalar on purpose, like everything on the decode path: see "SSE after ISA-L" in
    /// `ISALErasureCode`. One short loop step per taken index, words visited in order.
    func smallest(_ n: Int) -> (set: ShardSet, count: Int, largest: Int) {
        var result = ShardSet()
        var taken = 0
        var largest = -1
        /// The lowest set bits of `word`, as many as are still needed to reach `n` (counted in `taken`).
        func take(_ word: UInt64, offset: Int) -> UInt64 {
            var bits = word
            var kept: UInt64 = 0
            while bits != 0, taken < n {
                let lowest = bits & (0 &- bits)
                kept |= lowest
                bits ^= lowest
                taken += 1
                largest = offset + lowest.trailingZeroBitCount
            }
            return kept
        }
        result.word0 = take(self.word0, offset: 0)
        if taken < n { result.word1 = take(self.word1, offset: 64) }
        if taken < n { result.word2 = take(self.word2, offset: 128) }
        if taken < n { result.word3 = take(self.word3, offset: 192) }
        return (result, taken, largest)
    }
}
