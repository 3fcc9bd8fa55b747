/// A set of shard indices within one group (0 ..< 256), stored as a 256-bit mask.
///
/// Says which slots of a group hold a shard in
/// ``ReedSolomonCodec/reconstructData(group:present:shardBytes:)``, and keys the decode-table
/// cache: the shards chosen to rebuild a group determine the matrix to invert, so equal sets can
/// share one set of decode tables. A plain value: no allocation, cheap to copy and compare.
public struct ShardSet: Hashable, Sendable {
    /// Largest index plus one that a set can hold.
    public static let capacity = 256

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

    /// The set of every index in 0 ..< `count` (`count` is clamped to 0 ... 256).
    static func below(_ count: Int) -> ShardSet {
        var set = ShardSet()
        /// Bits `0 ..< n` of one word, `n` clamped to 0 ... 64.
        func low(_ n: Int) -> UInt64 {
            n <= 0 ? 0 : n >= 64 ? .max : (UInt64(1) << UInt64(n)) &- 1
        }
        set.word0 = low(count)
        set.word1 = low(count - 64)
        set.word2 = low(count - 128)
        set.word3 = low(count - 192)
        return set
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

    /// The indices in both sets.
    @inline(__always)
    func intersection(_ other: ShardSet) -> ShardSet {
        var result = self
        result.word0 &= other.word0
        result.word1 &= other.word1
        result.word2 &= other.word2
        result.word3 &= other.word3
        return result
    }

    /// The indices in this set but not in `other`.
    @inline(__always)
    func subtracting(_ other: ShardSet) -> ShardSet {
        var result = self
        result.word0 &= ~other.word0
        result.word1 &= ~other.word1
        result.word2 &= ~other.word2
        result.word3 &= ~other.word3
        return result
    }

    /// The indices in either set.
    @inline(__always)
    func union(_ other: ShardSet) -> ShardSet {
        var result = self
        result.word0 |= other.word0
        result.word1 |= other.word1
        result.word2 |= other.word2
        result.word3 |= other.word3
        return result
    }

    /// The `n` smallest indices of the set (all of them if it holds fewer).
    func prefix(_ n: Int) -> ShardSet {
        var rest = self
        var result = ShardSet()
        var taken = 0
        while taken < n, let index = rest.minimum {
            rest.remove(index)
            result.insert(index)
            taken += 1
        }
        return result
    }
}
