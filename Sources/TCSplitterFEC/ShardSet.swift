/// A set of shard indices within one group (0 ..< 256), stored as a 256-bit mask.
///
/// Used as the key of the decode-table cache: the shards chosen to rebuild a group determine the
/// matrix to invert, so equal sets can share one set of decode tables.
struct ShardSet: Hashable {
    /// Bits 0 ..< 64.
    private var word0: UInt64 = 0
    /// Bits 64 ..< 128.
    private var word1: UInt64 = 0
    /// Bits 128 ..< 192.
    private var word2: UInt64 = 0
    /// Bits 192 ..< 256.
    private var word3: UInt64 = 0

    /// Creates an empty set.
    init() {}

    /// Adds `index` to the set; `index` must be in 0 ..< 256 (values outside are ignored).
    @inline(__always)
    mutating func insert(_ index: Int) {
        let bit = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: self.word0 |= bit
        case 1: self.word1 |= bit
        case 2: self.word2 |= bit
        case 3: self.word3 |= bit
        default: break
        }
    }

    /// Whether `index` is in the set.
    @inline(__always)
    func contains(_ index: Int) -> Bool {
        let bit = UInt64(1) << UInt64(index & 63)
        switch index >> 6 {
        case 0: return self.word0 & bit != 0
        case 1: return self.word1 & bit != 0
        case 2: return self.word2 & bit != 0
        case 3: return self.word3 & bit != 0
        default: return false
        }
    }
}
