import NIOCore

/// One `--allow` entry of the server: destinations a transparent client may have the server dial.
///
/// Spellings: `198.18.20.0/24` (every port), `198.18.20.0/24:7000-7999`, `198.18.20.2:22` (one
/// host: /32), `2001:db8::/32` and `[2001:db8::/32]:443` (IPv6, brackets when a port follows).
/// Without any rule the server dials no destination a client names (no open relay).
public struct AllowRule: Hashable, Sendable, CustomStringConvertible {
    /// The network's address bytes (4 or 16), host bits cleared.
    public let networkBytes: [UInt8]
    /// The prefix length in bits.
    public let prefixLength: Int
    /// The ports admitted.
    public let ports: ClosedRange<UInt16>

    /// A rule from its parts (host bits of `networkBytes` are cleared).
    public init?(networkBytes: [UInt8], prefixLength: Int, ports: ClosedRange<UInt16> = 1...65535) {
        guard networkBytes.count == 4 || networkBytes.count == 16, (0...networkBytes.count * 8).contains(prefixLength)
        else { return nil }
        self.networkBytes = Self.masked(networkBytes, prefixLength: prefixLength)
        self.prefixLength = prefixLength
        self.ports = ports
    }

    /// Whether the rule admits `destination`.
    public func admits(_ destination: SessionDestination) -> Bool {
        destination.addressBytes.count == self.networkBytes.count
            && Self.masked(destination.addressBytes, prefixLength: self.prefixLength) == self.networkBytes
            && self.ports.contains(destination.port)
    }

    /// The rule as an `--allow` value.
    public var description: String {
        let network = SessionDestination(addressBytes: self.networkBytes, port: 0)?.host ?? "?"
        let cidr = "\(network)/\(self.prefixLength)"
        let ports =
            self.ports.lowerBound == self.ports.upperBound
            ? "\(self.ports.lowerBound)" : "\(self.ports.lowerBound)-\(self.ports.upperBound)"
        if self.ports == 1...65535 { return cidr }
        return self.networkBytes.count == 16 ? "[\(cidr)]:\(ports)" : "\(cidr):\(ports)"
    }

    /// Parses one `--allow` value.
    public static func parse(_ value: String) throws(ConfigurationError) -> AllowRule {
        let text = value.trimmingSpaces()
        var cidr = Substring(text)
        var portText: Substring? = nil
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ConfigurationError(flag: "--allow", "\"\(value)\" has no closing ] for its IPv6 network")
            }
            cidr = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw ConfigurationError(flag: "--allow", "\"\(value)\": write [network/prefix]:ports")
                }
                portText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            cidr = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        var addressText = cidr
        var prefix: Int? = nil
        if let slash = cidr.firstIndex(of: "/") {
            addressText = cidr[..<slash]
            guard let bits = Int(cidr[cidr.index(after: slash)...]) else {
                throw ConfigurationError(flag: "--allow", "\"\(value)\": the prefix length is not a number")
            }
            prefix = bits
        }
        guard let address = try? SocketAddress(ipAddress: String(addressText), port: 0),
            let bytes = SessionDestination.bytes(of: address)
        else {
            throw ConfigurationError(flag: "--allow", "\"\(value)\": \"\(addressText)\" is not an IPv4 or IPv6 address")
        }
        let length = prefix ?? bytes.count * 8
        guard (0...bytes.count * 8).contains(length) else {
            throw ConfigurationError(
                flag: "--allow", "\"\(value)\": prefix /\(length) is out of range 0...\(bytes.count * 8)")
        }
        let ports = try Self.parsePorts(portText, value: value)
        return AllowRule(networkBytes: bytes, prefixLength: length, ports: ports)!
    }

    private static func parsePorts(_ text: Substring?, value: String) throws(ConfigurationError) -> ClosedRange<UInt16>
    {
        guard let text else { return 1...65535 }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let low = UInt16(parts[0]), let high = UInt16(parts.last!), low >= 1,
            low <= high
        else {
            throw ConfigurationError(
                flag: "--allow", "\"\(value)\": ports \"\(text)\" are not N or LOW-HIGH within 1...65535")
        }
        return low...high
    }

    private static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsHere = max(0, min(8, prefixLength - index * 8))
            return bitsHere == 8 ? byte : byte & ~(UInt8(0xFF) >> bitsHere)
        }
    }
}
