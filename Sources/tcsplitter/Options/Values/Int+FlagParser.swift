import ArgumentParser

extension Int {
    /// A parser of whole numbers within `range` (`--tos 184`); `unit` follows the range in a
    /// refusal, `expected` names what the text should have been.
    static func parser(
        in range: ClosedRange<Int>, unit: String = "", expected: String = "a whole number"
    ) -> @Sendable (String) throws -> Int {
        { text in try FlagText.wholeNumber(text, in: range, unit: unit, expected: expected) }
    }
}
