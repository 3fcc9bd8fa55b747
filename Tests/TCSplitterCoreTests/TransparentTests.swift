import NIOCore
import TCSplitterCore
import Testing

/// Transparent mode's wire message (`openTo`) and the server's `--allow` list.
@Suite struct TransparentTests {
    static let id = SessionID(rawValue: 0x0102_0304_0506_0708)
    static let idBytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]

    @Test("openTo is session id, family 4, four address bytes and the port")
    func openToIPv4() {
        let destination = SessionDestination(addressBytes: [198, 18, 20, 2], port: 7001)!
        let message = ControlMessage.openTo(Self.id, destination)
        let bytes: [UInt8] =
            [0x54, 0x43, 0x02, 0x2A, 0x00, 0x00, 0x00, 0x0F] + Self.idBytes + [4, 198, 18, 20, 2, 0x1B, 0x59]
        #expect(encoded(.control(message)) == bytes)
        #expect(decodeWhole(bytes) == .control(message))
        #expect(message.sessionID == Self.id)
        #expect(destination.description == "198.18.20.2:7001")
    }

    @Test("openTo carries IPv6 as family 6 and sixteen bytes; hosts print in RFC 5952 form")
    func openToIPv6() {
        let address: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        let destination = SessionDestination(addressBytes: address, port: 443)!
        let message = ControlMessage.openTo(Self.id, destination)
        let bytes = encoded(.control(message))
        #expect(bytes.count == 8 + 8 + 1 + 16 + 2)
        #expect(bytes[16] == 6)
        #expect(decodeWhole(bytes) == .control(message))
        #expect(destination.description == "[2001:db8::1]:443")
        #expect(SessionDestination(addressBytes: Array(repeating: 0, count: 15) + [1], port: 1)!.host == "::1")
    }

    @Test("a bad family, a short address, port 0 or a trailing byte are refused")
    func openToMalformed() {
        #expect(
            decodeError(envelope(type: 0x2A, body: Self.idBytes + [5, 1, 2, 3, 4, 0, 80]))
                == .invalidField("openTo.family"))
        #expect(
            decodeError(envelope(type: 0x2A, body: Self.idBytes + [4, 1, 2, 3, 4, 0, 0]))
                == .invalidField("openTo.port"))
        for body in [
            Self.idBytes + [4, 1, 2, 3], Self.idBytes + [6] + Array(repeating: 1, count: 17),
            Self.idBytes + [4, 1, 2, 3, 4, 0, 80, 9],
        ] {
            guard case .malformedBody(type: 0x2A, _) = decodeError(envelope(type: 0x2A, body: body)) else {
                Issue.record("expected malformedBody for \(body)")
                continue
            }
        }
        #expect(SessionDestination(addressBytes: [1, 2, 3], port: 1) == nil)
    }

    static func destination(_ host: String, _ port: Int) -> SessionDestination {
        SessionDestination(try! SocketAddress(ipAddress: host, port: port))!
    }

    @Test("allow rules: a network with an optional port or port range, IPv4 and IPv6")
    func allowRules() throws {
        let subnet = try AllowRule.parse("198.18.20.0/24:7000-7002")
        #expect(subnet.admits(Self.destination("198.18.20.2", 7001)))
        #expect(subnet.admits(Self.destination("198.18.20.255", 7000)))
        #expect(!subnet.admits(Self.destination("198.18.21.2", 7001)))
        #expect(!subnet.admits(Self.destination("198.18.20.2", 7003)))
        #expect(subnet.description == "198.18.20.0/24:7000-7002")

        let host = try AllowRule.parse("10.1.2.3:22")
        #expect(host.prefixLength == 32 && host.ports == 22...22)
        #expect(host.admits(Self.destination("10.1.2.3", 22)) && !host.admits(Self.destination("10.1.2.4", 22)))

        let everywhere = try AllowRule.parse("0.0.0.0/0")
        #expect(everywhere.admits(Self.destination("203.0.113.9", 1)))
        #expect(!everywhere.admits(Self.destination("::1", 1)))  // IPv4 rules admit no IPv6

        let hostBits = try AllowRule.parse("198.18.20.77/24")
        #expect(hostBits.description == "198.18.20.0/24")

        let v6 = try AllowRule.parse("[2001:db8::/32]:443")
        #expect(v6.admits(Self.destination("2001:db8:ffff::1", 443)))
        #expect(!v6.admits(Self.destination("2001:db9::1", 443)))
        #expect(!v6.admits(Self.destination("2001:db8::1", 80)))
        #expect(try AllowRule.parse("2001:db8::/32").admits(Self.destination("2001:db8::1", 80)))
        #expect(try AllowRule.parse("::1").admits(Self.destination("::1", 9)))
    }

    @Test(
        "bad allow rules name --allow",
        arguments: [
            "", "example.com", "198.18.20.0/33", "198.18.20.0/x", "198.18.20.0/24:0", "198.18.20.0/24:9-3",
            "198.18.20.0/24:70000", "[2001:db8::/129]", "[2001:db8::/32:443", "1.2.3.4:", "1.2.3.4:1-2-3",
        ])
    func badAllowRules(value: String) {
        #expect(throws: ConfigurationError.self) { try AllowRule.parse(value) }
        do {
            _ = try AllowRule.parse(value)
        } catch {
            #expect(error.flag == "--allow")
        }
    }

    @Test("only a server admits destinations, and only those its rules cover; --transparent is the client's")
    func configurationRules() throws {
        var server = TunnelConfiguration(role: .server)
        server.localFling = EndpointAddress(host: "", port: 1)
        server.localSync = EndpointAddress(host: "", port: 2)
        server.forward = EndpointAddress(host: "127.0.0.1", port: 3)
        #expect(!server.admits(Self.destination("198.18.20.2", 7001)))
        server.allowRules = [try AllowRule.parse("198.18.20.2/32:7001")]
        #expect(server.admits(Self.destination("198.18.20.2", 7001)))
        #expect(!server.admits(Self.destination("198.18.20.2", 7002)))
        server.transparent = true
        #expect(throws: ConfigurationError.self) { try server.validate() }

        var client = TunnelConfiguration(role: .client)
        client.remoteFling = EndpointAddress(host: "h", port: 1)
        client.remoteSync = EndpointAddress(host: "h", port: 2)
        client.transparent = true
        try client.validate()
        client.allowRules = server.allowRules
        #expect(throws: ConfigurationError.self) { try client.validate() }
    }
}
