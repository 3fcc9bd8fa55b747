import ArgumentParser
import TCSplitterCore

/// A flag that takes `auto` or a value: `--conns auto|N`, `--budget auto|N`, `--window auto|bytes`,
/// `--congestion auto|name`.
enum AutoOr<Value: Hashable & Sendable>: Hashable, Sendable {
    /// The end chooses (and may change) the value itself.
    case auto
    /// This value, fixed.
    case fixed(Value)

    /// The fixed value, or `nil` for `auto`.
    var fixedValue: Value? {
        if case .fixed(let value) = self { return value }
        return nil
    }

    /// A parser of `auto` (any case) or what `fixed` parses; `fixed`'s refusal stands.
    static func parser(_ fixed: @escaping @Sendable (String) throws -> Value) -> @Sendable (String) throws -> Self {
        { text in
            text.trimmingSpaces().lowercased() == "auto" ? .auto : .fixed(try fixed(text))
        }
    }
}

extension AutoOr: ExpressibleByArgument where Value: ExpressibleByArgument {
    /// `auto`, or a value of `Value`.
    init?(argument: String) {
        if argument.trimmingSpaces().lowercased() == "auto" {
            self = .auto
        } else if let value = Value(argument: argument) {
            self = .fixed(value)
        } else {
            return nil
        }
    }

    /// `auto`, or the value as its flag takes it.
    var defaultValueDescription: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let value): return value.defaultValueDescription
        }
    }
}
