import NIOConcurrencyHelpers

/// Standard error as the logs and the status reports share it. On a terminal the periodic
/// report is one line kept at the bottom and updated in place: text printed meanwhile (a log
/// line, a status block) clears it, goes above it, and the line is drawn again under it. In a
/// log (not a terminal) everything is plain lines. One lock orders every write, so a status block
/// is never split by a log line.
public final class StatusOutput: Sendable {
    /// Whether the stream is a terminal.
    public let isTerminal: Bool
    private let writeText: @Sendable (String) -> Void
    /// The status line on screen, if any.
    private let statusLine = NIOLockedValueBox<String?>(nil)

    /// Carriage return and erase to the end of the line.
    static let clearLine = "\r\u{1B}[K"

    /// An output writing with `write` (text as is; the caller adds newlines).
    public init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.writeText = write
    }

    /// Writes `text` (whole lines), above the status line when one is shown.
    public func print(_ text: String) {
        self.statusLine.withLockedValue { line in
            guard let line else {
                self.writeText(text)
                return
            }
            self.writeText(Self.clearLine + text + line)
        }
    }

    /// Shows `line` (no newline) as the status line, replacing the previous one.
    public func updateLine(_ line: String) {
        self.statusLine.withLockedValue { shown in
            shown = line
            self.writeText(Self.clearLine + line)
        }
    }

    /// Leaves the status line on screen as an ordinary line (at exit).
    public func endLine() {
        self.statusLine.withLockedValue { shown in
            if shown != nil { self.writeText("\n") }
            shown = nil
        }
    }
}

extension StatusOutput {
    /// A `TextOutputStream` for swift-log's `StreamLogHandler`, so log lines go through `print`.
    public var logStream: some TextOutputStream & Sendable { LogStream(output: self) }
}

/// Log lines into a `StatusOutput` (each `write` is one whole line from `StreamLogHandler`).
private struct LogStream: TextOutputStream, Sendable {
    let output: StatusOutput

    mutating func write(_ string: String) {
        self.output.print(string)
    }
}
