import ArgumentParser
import NIOCore

/// A time flag in whole milliseconds, as the original took them all (`--tick 50`).
struct Milliseconds: Hashable, Sendable, ExpressibleByArgument {
    /// The longest time a flag takes: a day.
    static let dayMilliseconds = 86_400_000

    /// The number of milliseconds.
    var count: Int

    /// `count` milliseconds.
    init(_ count: Int) {
        self.count = count
    }

    /// Any whole number of milliseconds from 0 to a day.
    init?(argument: String) {
        guard let count = try? FlagText.wholeNumber(argument, in: 0...Self.dayMilliseconds) else { return nil }
        self.count = count
    }

    /// The time as NIO states it.
    var timeAmount: TimeAmount { .milliseconds(Int64(self.count)) }

    /// The number, as the flag takes it.
    var defaultValueDescription: String { "\(self.count)" }

    /// A parser of whole milliseconds within `range`.
    static func parser(
        in range: ClosedRange<Int> = 0...Milliseconds.dayMilliseconds
    ) -> @Sendable (String) throws -> Self {
        { text in Self(try FlagText.wholeNumber(text, in: range, unit: " ms")) }
    }
}
