import ArgumentParser

/// `--buffer ms:count`, the playout buffer: hold `payloads` payloads, then release one every
/// `interval` at the arrival rate. A single number has no count.
struct PlayoutBuffer: Hashable, Sendable, ExpressibleByArgument {
    /// The release interval, 0 to an hour; 0 releases at once.
    var interval: Milliseconds
    /// Payloads held before the first release, 0 to 100000.
    var payloads: Int

    /// A buffer of `payloads` released every `interval`.
    init(interval: Milliseconds, payloads: Int) {
        self.interval = interval
        self.payloads = payloads
    }

    /// `ms:count`, or `nil` when it is not one.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// `ms:count`.
    var defaultValueDescription: String { "\(self.interval.count):\(self.payloads)" }

    /// Parses `ms:count`, or says what is wrong with it.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        let (milliseconds, payloads) = try FlagText.pair(
            text, shape: "ms:count", first: 0...3_600_000, second: 0...100_000, defaultSecond: 0)
        return Self(interval: Milliseconds(milliseconds), payloads: payloads)
    }
}
