import ArgumentParser
import TCSplitterCore

extension AllowRule: ExpressibleByArgument {
    /// One `--allow` value, or `nil` when it is not one.
    public init?(argument: String) {
        guard let rule = try? Self.parse(argument) else { return nil }
        self = rule
    }

    /// Parses one `--allow` value, or says what is wrong with it.
    static func argumentParser(_ text: String) throws(ValidationError) -> Self {
        do throws(ConfigurationError) {
            return try Self.parse(text)
        } catch {
            throw ValidationError(error.message)
        }
    }
}
