import ArgumentParser

extension Option where Value: ExpressibleByArgument {
    /// An option whose text `parser` turns into a value or refuses with a reason, which
    /// argument-parser prints after the flag and the text. argument-parser shows no default for
    /// an option with a transform, so it is added to the help here as argument-parser shows it
    /// for the others: `(default: 10000:1250)`.
    init(
        wrappedValue: Value,
        name: NameSpecification,
        parsing parsingStrategy: SingleValueParsingStrategy = .next,
        help: ArgumentHelp,
        parser: @escaping @Sendable (String) throws -> Value
    ) {
        var help = help
        help.abstract += " (default: \(wrappedValue.defaultValueDescription))"
        self.init(wrappedValue: wrappedValue, name: name, parsing: parsingStrategy, help: help, transform: parser)
    }
}
