/// Parsers for the original's flag spellings: `a:b` pairs of whole numbers, and single numbers.
public enum FlagValue {
    /// Parses a whole number within `range`.
    public static func integer(
        _ value: String,
        flag: String,
        in range: ClosedRange<Int>,
        unit: String = ""
    ) throws(ConfigurationError) -> Int {
        let text = value.trimmingSpaces()
        guard let number = Int(text) else {
            throw ConfigurationError(flag: flag, "\"\(value)\" is not a whole number")
        }
        guard range.contains(number) else {
            throw ConfigurationError(
                flag: flag, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)\(unit)")
        }
        return number
    }

    /// Parses `a:b` (the original's pairs). A single number is taken as `a:defaultSecond` when
    /// `defaultSecond` is given, so `--fec 0` means off as in the original.
    public static func pair(
        _ value: String,
        flag: String,
        shape: String,
        first firstRange: ClosedRange<Int>,
        second secondRange: ClosedRange<Int>,
        defaultSecond: Int? = nil
    ) throws(ConfigurationError) -> (Int, Int) {
        let parts = value.trimmingSpaces().split(separator: ":", omittingEmptySubsequences: false)
        let firstText: Substring
        let secondText: Substring?
        switch parts.count {
        case 1 where defaultSecond != nil:
            firstText = parts[0]
            secondText = nil
        case 2:
            firstText = parts[0]
            secondText = parts[1]
        default:
            throw ConfigurationError(flag: flag, "\"\(value)\" is not a \(shape) pair of whole numbers")
        }
        guard let first = Int(firstText), secondText.map({ Int($0) != nil }) ?? true else {
            throw ConfigurationError(flag: flag, "\"\(value)\" is not a \(shape) pair of whole numbers")
        }
        let second = secondText.flatMap { Int($0) } ?? defaultSecond!
        let names = shape.split(separator: ":")
        guard firstRange.contains(first) else {
            throw ConfigurationError(
                flag: flag,
                "\(names.first ?? "first") \(first) is out of range \(firstRange.lowerBound)...\(firstRange.upperBound)"
            )
        }
        guard secondRange.contains(second) else {
            throw ConfigurationError(
                flag: flag,
                "\(names.last ?? "second") \(second) is out of range \(secondRange.lowerBound)...\(secondRange.upperBound)"
            )
        }
        return (first, second)
    }

    /// Parses a byte count with an optional binary suffix: `4194304`, `4MiB`, `4M`, `512KiB`, `1GiB`.
    public static func byteCount(
        _ value: String,
        flag: String,
        in range: ClosedRange<Int>
    ) throws(ConfigurationError) -> Int {
        let text = value.trimmingSpaces()
        let digits = text.prefix(while: { $0.isNumber })
        let suffix = text.dropFirst(digits.count).lowercased()
        let multipliers: [String: Int] = [
            "": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "mb": 1 << 20,
            "g": 1 << 30, "gib": 1 << 30, "gb": 1 << 30,
        ]
        guard let number = Int(digits), let multiplier = multipliers[suffix],
            number <= Int.max / multiplier
        else {
            throw ConfigurationError(flag: flag, "\"\(value)\" is not a byte count (e.g. 4194304, 4MiB, 512KiB)")
        }
        let bytes = number * multiplier
        guard range.contains(bytes) else {
            throw ConfigurationError(
                flag: flag, "\(bytes) bytes is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return bytes
    }
}
