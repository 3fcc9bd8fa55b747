/// A small seeded generator (Steele, Lea and Flood's SplitMix64), so randomized tests repeat
/// exactly: the same seed always gives the same cuts, shuffles and duplicates.
struct SplitMix64: RandomNumberGenerator {
    /// The running state; advanced by the golden-ratio increment on every draw.
    private var state: UInt64

    /// A generator that starts from `seed`.
    init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 pseudo-random bits.
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
