import ArgumentParser
import TCSplitterCore

/// `--retries on:skip`: whether lost payloads are resent (`on` 1 or 0), and after how many
/// requests missing bytes are skipped (`-1` never). A single number never skips.
struct RetryPolicy: Hashable, Sendable, ExpressibleByArgument {
    /// Lost payloads are resent.
    var resends: Bool
    /// Requests for missing bytes before they are skipped; -1 never.
    var skipAfterRequests: Int

    /// A policy.
    init(resends: Bool, skipAfterRequests: Int) {
        self.resends = resends
        self.skipAfterRequests = skipAfterRequests
    }

    /// `on:skip`, or `nil` when it is not one.
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }

    /// The default for `localProtocol`: a byte stream is reliable (`1:-1`); a datagram flow keeps
    /// going past a loss (`0:-1`).
    static func standard(for localProtocol: LocalProtocol) -> Self {
        Self(resends: localProtocol == .tcp, skipAfterRequests: -1)
    }

    /// `on:skip`.
    var defaultValueDescription: String { "\(self.resends ? 1 : 0):\(self.skipAfterRequests)" }

    /// Parses `on:skip`, or says what is wrong with it.
    static func parse(_ text: String) throws(ValidationError) -> Self {
        let (on, skip) = try FlagText.pair(
            text, shape: "on:skip", first: 0...1, second: -1...1_000_000, defaultSecond: -1)
        return Self(resends: on == 1, skipAfterRequests: skip)
    }
}
