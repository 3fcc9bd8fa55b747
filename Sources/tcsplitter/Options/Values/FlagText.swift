import ArgumentParser
import TCSplitterCore

/// The original's spellings of numbers, which the flag value types share: whole numbers, `a:b`
/// pairs and byte counts with binary suffixes. A refusal says what is wrong with the text;
/// argument-parser prints it after the flag (`The value '0:1250' is invalid for '--frags
/// <frags>': payload 0 is out of range 1...1048576`).
enum FlagText {
    /// A whole number within `range`; `unit` follows the range in a refusal (` ms`), and
    /// `expected` names what the text should have been (`auto or a whole number of payloads`).
    static func wholeNumber(
        _ text: String, in range: ClosedRange<Int>, unit: String = "", expected: String = "a whole number"
    ) throws(ValidationError) -> Int {
        guard let number = Int(text.trimmingSpaces()) else {
            throw ValidationError("\"\(text)\" is not \(expected)")
        }
        guard range.contains(number) else {
            throw ValidationError("\(number) is out of range \(range.lowerBound)...\(range.upperBound)\(unit)")
        }
        return number
    }

    /// `a:b`, each half within its range, named in a refusal by its part of `shape`
    /// (`payload:mtu`). A single number is `a:defaultSecond` when there is a `defaultSecond`, so
    /// `--fec 0` means off as in the original.
    static func pair(
        _ text: String,
        shape: String,
        first firstRange: ClosedRange<Int>,
        second secondRange: ClosedRange<Int>,
        defaultSecond: Int? = nil
    ) throws(ValidationError) -> (Int, Int) {
        let parts = text.trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false)
        let notAPair = ValidationError("\"\(text)\" is not a \(shape) pair of whole numbers")
        let first: Int
        let second: Int
        switch (parts.count, defaultSecond) {
        case (1, let defaultSecond?):
            guard let number = Int(parts[0]) else { throw notAPair }
            (first, second) = (number, defaultSecond)
        case (2, _):
            guard let number = Int(parts[0]), let other = Int(parts[1]) else { throw notAPair }
            (first, second) = (number, other)
        default:
            throw notAPair
        }
        let names = shape.split(separator: ":")
        guard firstRange.contains(first) else {
            throw ValidationError(
                "\(names.first ?? "first") \(first) is out of range \(firstRange.lowerBound)...\(firstRange.upperBound)"
            )
        }
        guard secondRange.contains(second) else {
            throw ValidationError(
                "\(names.last ?? "second") \(second) is out of range \(secondRange.lowerBound)...\(secondRange.upperBound)"
            )
        }
        return (first, second)
    }

    /// A byte count with an optional binary suffix, within `range`: `4194304`, `4MiB`, `4M`,
    /// `512KiB`, `1GiB`.
    static func byteCount(_ text: String, in range: ClosedRange<Int>) throws(ValidationError) -> Int {
        let trimmed = text.trimmingSpaces()
        let digits = trimmed.prefix(while: { $0.isNumber })
        let suffix = trimmed.dropFirst(digits.count).lowercased()
        let multipliers: [String: Int] = [
            "": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "mb": 1 << 20,
            "g": 1 << 30, "gib": 1 << 30, "gb": 1 << 30,
        ]
        guard let number = Int(digits), let multiplier = multipliers[suffix], number <= Int.max / multiplier else {
            throw ValidationError("\"\(text)\" is not a byte count (e.g. 4194304, 4MiB, 512KiB)")
        }
        let bytes = number * multiplier
        guard range.contains(bytes) else {
            throw ValidationError("\(bytes) bytes is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return bytes
    }
}
