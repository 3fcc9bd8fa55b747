import ArgumentParser
import NIOCore

/// A time flag in whole seconds (`--udp-idle-timeout 60`, `--stats 5`).
struct Seconds: Hashable, Sendable, ExpressibleByArgument {
    /// The longest time a flag takes: a day.
    static let daySeconds = 86_400

    /// The number of seconds.
    var count: Int

    /// `count` seconds.
    init(_ count: Int) {
        self.count = count
    }

    /// Any whole number of seconds from 0 to a day.
    init?(argument: String) {
        guard let count = try? FlagText.wholeNumber(argument, in: 0...Self.daySeconds) else { return nil }
        self.count = count
    }

    /// The time as NIO states it.
    var timeAmount: TimeAmount { .seconds(Int64(self.count)) }

    /// The number, as the flag takes it.
    var defaultValueDescription: String { "\(self.count)" }

    /// A parser of whole seconds within `range`.
    static func parser(in range: ClosedRange<Int> = 0...Seconds.daySeconds) -> @Sendable (String) throws -> Self {
        { text in Self(try FlagText.wholeNumber(text, in: range, unit: " s")) }
    }
}
