/// A configuration that cannot run, naming the flag at fault. Printed as one line:
/// `--frags: "abc" is not a payload:mtu pair of whole numbers`.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The flag at fault, with its dashes (`--frags`).
    public var flag: String
    /// What is wrong, in a sentence fragment.
    public var message: String

    /// An error for `flag`.
    public init(flag: String, _ message: String) {
        self.flag = flag
        self.message = message
    }

    /// `flag: message`.
    public var description: String { "\(self.flag): \(self.message)" }
}
