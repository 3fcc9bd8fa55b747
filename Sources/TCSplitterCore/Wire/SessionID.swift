/// Identifies one tunnelled connection on both ends.
///
/// Drawn from the system's cryptographic random source (`SystemRandomNumberGenerator`, `getrandom(2)`
/// on Linux); never derived from time or addresses, so a peer cannot guess another user's session.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    /// The 64 random bits.
    public var rawValue: UInt64

    /// Wraps a value read from the wire.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// A fresh random id, never zero.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> SessionID {
        var value: UInt64 = 0
        while value == 0 { value = generator.next() }
        return SessionID(rawValue: value)
    }

    /// A fresh random id from the system's cryptographic generator.
    public static func random() -> SessionID {
        var generator = SystemRandomNumberGenerator()
        return .random(using: &generator)
    }

    /// Sixteen hex digits, as logs print it.
    public var description: String {
        let hex = String(self.rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
