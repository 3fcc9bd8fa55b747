import TCSplitterCore
import Testing

/// `host:port` flag values.
@Suite struct EndpointAddressTests {
    @Test(
        "accepted spellings parse to host and port",
        arguments: [
            ("127.0.0.1:6000", "127.0.0.1", 6000), ("localhost:6000", "localhost", 6000), ("[::1]:6000", "::1", 6000),
            ("[fe80::1%eth0]:22", "fe80::1%eth0", 22), (":6000", "", 6000), ("*:6001", "", 6001),
            ("example.com:0", "example.com", 0), ("  10.0.0.1:65535 \n", "10.0.0.1", 65535),
        ] as [(String, String, Int)]
    )
    func accepted(value: String, host: String, port: Int) throws {
        let address = try EndpointAddress.parse(value, flag: "--listen")
        #expect(address == EndpointAddress(host: host, port: port))
    }

    @Test("0 and an empty value mean off", arguments: ["0", "", "   ", " 0 "])
    func off(value: String) throws {
        #expect(try EndpointAddress.parse(value, flag: "--rLasso") == nil)
    }

    @Test(
        "bad spellings are refused, naming the flag",
        arguments: [
            "localhost", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "host:port", "::1:80", "[::1]", "[::1]80",
            "[::1:80", "1.2.3.4:80:90",
        ]
    )
    func refused(value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try EndpointAddress.parse(value, flag: "--forward")
        }
        #expect(error?.flag == "--forward")
        #expect(error?.description.hasPrefix("--forward: ") == true)
        #expect(error?.message.contains(value) == true)
    }

    @Test("IPv6 literals print with brackets, others without")
    func description() {
        #expect(EndpointAddress(host: "::1", port: 80).description == "[::1]:80")
        #expect(EndpointAddress(host: "10.0.0.1", port: 80).description == "10.0.0.1:80")
        #expect(EndpointAddress(host: "", port: 6000).description == ":6000")
    }

    @Test("what prints parses back to the same address")
    func printParseRoundTrip() throws {
        for address in [
            EndpointAddress(host: "::1", port: 1), EndpointAddress(host: "a.b", port: 2),
            EndpointAddress(host: "", port: 3),
        ] {
            #expect(try EndpointAddress.parse(address.description, flag: "--x") == address)
        }
    }

    @Test("an empty host binds every interface and dials this machine")
    func emptyHost() {
        let any = EndpointAddress(host: "", port: 6000)
        #expect(any.bindHost == "0.0.0.0")
        #expect(any.dialHost == "127.0.0.1")
        let named = EndpointAddress(host: "example.com", port: 1)
        #expect(named.bindHost == "example.com")
        #expect(named.dialHost == "example.com")
    }
}
