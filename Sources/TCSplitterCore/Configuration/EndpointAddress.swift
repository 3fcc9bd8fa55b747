/// A `host:port` flag value, parsed but not resolved (Core opens no sockets).
///
/// Accepted spellings: `127.0.0.1:6000`, `localhost:6000`, `[::1]:6000`, `:6000` (every
/// interface, as the original's `:6001`), and port 0 (let the system choose, for listeners).
public struct EndpointAddress: Hashable, Sendable, CustomStringConvertible {
    /// Host name or address literal, without brackets; empty means every interface.
    public var host: String
    /// TCP port, 0...65535.
    public var port: Int

    /// An address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses a flag value. Returns `nil` for the original's "0" (off) and for an empty value.
    public static func parse(_ value: String, flag: String) throws(ConfigurationError) -> EndpointAddress? {
        let trimmed = value.trimmingSpaces()
        if trimmed.isEmpty || trimmed == "0" { return nil }
        var host: Substring
        var portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw ConfigurationError(flag: flag, "\"\(value)\" has no closing ] for its IPv6 address")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ConfigurationError(flag: flag, "\"\(value)\" needs a port: [address]:port")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else {
                throw ConfigurationError(flag: flag, "\"\(value)\" needs a port: host:port (or 0 for off)")
            }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            guard !host.contains(":") else {
                throw ConfigurationError(flag: flag, "\"\(value)\": write IPv6 addresses as [address]:port")
            }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigurationError(flag: flag, "\"\(value)\": port \"\(portText)\" is not a number from 0 to 65535")
        }
        if host == "*" { host = "" }
        return EndpointAddress(host: String(host), port: port)
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// The host to bind: an empty host means every interface.
    public var bindHost: String { self.host.isEmpty ? "0.0.0.0" : self.host }

    /// The host to dial: an empty host means this machine.
    public var dialHost: String { self.host.isEmpty ? "127.0.0.1" : self.host }
}

extension String {
    /// The text without leading and trailing white space (flag values as typed).
    public func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
