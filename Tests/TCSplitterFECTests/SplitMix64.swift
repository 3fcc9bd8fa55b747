/// A seeded SplitMix64 generator, so sampled payloads and loss patterns repeat across runs.
struct SplitMix64: RandomNumberGenerator {
    /// The generator state.
    private var state: UInt64

    /// Creates a generator from `seed`.
    init(seed: UInt64) {
        self.state = seed
    }

    /// Returns the next 64 random bits.
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
