import NIOCore

/// A small, fast, seeded generator (Steele, Lea and Flood's SplitMix64), for streams and
/// choices that must repeat exactly: the probe's bytes, the chaos proxy's faults, and every
/// randomized test (the same seed always gives the same cuts, shuffles and losses). Not for keys
/// or session ids (those use the system's generator).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 bits.
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Appends `count` pseudo-random bytes to `buffer`.
    public mutating func fill(_ buffer: inout ByteBuffer, count: Int) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            var index = 0
            while index + 8 <= count {
                pointer.storeBytes(of: self.next(), toByteOffset: index, as: UInt64.self)
                index += 8
            }
            if index < count {
                var last = self.next()
                while index < count {
                    pointer[index] = UInt8(truncatingIfNeeded: last)
                    last >>= 8
                    index += 1
                }
            }
            return count
        }
    }
}
