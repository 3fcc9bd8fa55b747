import ArgumentParser

/// `udp-probe --sizes min:max`: the range of datagram sizes in bytes, each 0 to 65507.
struct DatagramSizes: Hashable, Sendable, ExpressibleByArgument {
    /// The smallest datagram.
    var minBytes: Int
    /// The largest datagram, at least `minBytes`.
    var maxBytes: Int

    /// Sizes from `minBytes` to `maxBytes`.
    init(minBytes: Int, maxBytes: Int) {
        self.minBytes = minBytes
        self.maxBytes = maxBytes
    }

    /// `min:max`, or `nil` when it is not one.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// `min:max`.
    var defaultValueDescription: String { "\(self.minBytes):\(self.maxBytes)" }

    /// Parses `min:max` (a single number is `min:0`, refused unless 0), or says what is wrong.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        let (minimum, maximum) = try FlagText.pair(
            text, shape: "min:max", first: 0...65_507, second: 0...65_507, defaultSecond: 0)
        guard minimum <= maximum else {
            throw ValidationError("min \(minimum) is above max \(maximum)")
        }
        return Self(minBytes: minimum, maxBytes: maximum)
    }
}
