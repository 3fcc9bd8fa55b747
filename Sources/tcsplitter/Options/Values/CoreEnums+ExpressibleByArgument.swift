import ArgumentParser
import TCSplitterCore

// Core's flag enums, read from the command line by name in any case (argument-parser lists the
// names in its help and in a refusal). Core itself does not depend on argument-parser.

extension DupMode: ExpressibleByArgument {
    /// The mode named by `argument` (`--dup lasso`).
    public init?(argument: String) {
        self.init(rawValue: argument.trimmingSpaces().lowercased())
    }
}

extension LocalProtocol: ExpressibleByArgument {
    /// The protocol named by `argument` (`--protocol udp`).
    public init?(argument: String) {
        self.init(rawValue: argument.trimmingSpaces().lowercased())
    }
}

extension ModePreset: ExpressibleByArgument {
    /// The preset named by `argument` (`--mode bulk`).
    public init?(argument: String) {
        self.init(rawValue: argument.trimmingSpaces().lowercased())
    }
}
