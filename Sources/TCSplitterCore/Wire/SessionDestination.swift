import NIOCore

/// Where a transparent session's connection was originally headed (the address the application
/// dialed before a router redirected it to the client end): an IPv4 or IPv6 address and a port.
///
/// On the wire (inside `openTo`), big-endian:
/// ```
/// +--------+-----------------------------------+-----------+
/// | family |  address (4 bytes if 4, 16 if 6)  | port (u16)|
/// +--------+-----------------------------------+-----------+
/// family: 4 = IPv4, 6 = IPv6
/// ```
public struct SessionDestination: Hashable, Sendable, CustomStringConvertible {
    /// The address's bytes in network order: 4 (IPv4) or 16 (IPv6).
    public let addressBytes: [UInt8]
    /// The TCP port.
    public let port: UInt16

    /// A destination from its bytes; `nil` unless there are 4 or 16 of them.
    public init?(addressBytes: [UInt8], port: UInt16) {
        guard addressBytes.count == 4 || addressBytes.count == 16 else { return nil }
        self.addressBytes = addressBytes
        self.port = port
    }

    /// A destination from a socket address (IPv4 or IPv6 only).
    public init?(_ address: SocketAddress) {
        guard let port = address.port, let bytes = Self.bytes(of: address) else { return nil }
        self.init(addressBytes: bytes, port: UInt16(port))
    }

    /// Whether it is an IPv6 address.
    public var isIPv6: Bool { self.addressBytes.count == 16 }

    /// The address as text: dotted quad, or RFC 5952 hex groups.
    public var host: String {
        if !self.isIPv6 { return self.addressBytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map {
            UInt16(self.addressBytes[$0]) << 8 | UInt16(self.addressBytes[$0 + 1])
        }
        // The longest run of two or more zero groups becomes "::".
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.length && end - index >= 2 { best = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// `host:port`, with brackets around IPv6.
    public var description: String { self.isIPv6 ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }

    var bodyBytes: Int { 1 + self.addressBytes.count + 2 }

    init(body: inout ByteBuffer, type: FrameType) throws(FrameDecodingError) {
        guard let family = body.readInteger(as: UInt8.self) else {
            throw .malformedBody(type: type.rawValue, length: body.readableBytes)
        }
        let count: Int
        switch family {
        case 4: count = 4
        case 6: count = 16
        default: throw .invalidField("openTo.family")
        }
        guard let bytes = body.readBytes(length: count), let port = body.readInteger(as: UInt16.self) else {
            throw .malformedBody(type: type.rawValue, length: body.readableBytes)
        }
        guard port != 0 else { throw .invalidField("openTo.port") }
        self.addressBytes = bytes
        self.port = port
    }

    func writeBody(into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(UInt8(self.isIPv6 ? 6 : 4)) + buffer.writeBytes(self.addressBytes)
            + buffer.writeInteger(self.port)
    }

    /// The bytes of an IPv4 or IPv6 socket address (4 or 16), `nil` for other kinds.
    public static func bytes(of address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }
}
