/// Where status reports go (standard error, beside the logs), and whether that is a terminal:
/// on a terminal the periodic report is one line updated in place, in a log plain lines.
public struct StatusOutput: Sendable {
    /// Writes text as is (the caller adds newlines).
    public var write: @Sendable (String) -> Void
    /// Whether the stream is a terminal.
    public var isTerminal: Bool

    /// An output writing with `write`.
    public init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.write = write
    }
}
