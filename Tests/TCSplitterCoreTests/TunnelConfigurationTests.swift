import NIOCore
import TCSplitterCore
import Testing

/// Configuration defaults and `validate()`, which must name the flag of the rule that is broken.
@Suite struct TunnelConfigurationTests {
    /// A client that passes every rule.
    static var client: TunnelConfiguration {
        var configuration = TunnelConfiguration(role: .client)
        configuration.remoteFling = EndpointAddress(host: "203.0.113.1", port: 6002)
        configuration.remoteSync = EndpointAddress(host: "203.0.113.1", port: 5998)
        return configuration
    }

    /// A server that passes every rule.
    static var server: TunnelConfiguration {
        var configuration = TunnelConfiguration(role: .server)
        configuration.localFling = EndpointAddress(host: "", port: 6002)
        configuration.localSync = EndpointAddress(host: "", port: 5998)
        configuration.forward = EndpointAddress(host: "127.0.0.1", port: 6003)
        return configuration
    }

    /// The flag `validate()` names, or `nil` when the configuration is valid.
    static func failingFlag(_ configuration: TunnelConfiguration) -> String? {
        do {
            try configuration.validate()
            return nil
        } catch {
            return error.flag
        }
    }

    @Test(
        "the defaults are the original's, but no address is guessed: --forward and --rSync come from the command line")
    func defaults() {
        let configuration = TunnelConfiguration(role: .client)
        #expect(configuration.listen == EndpointAddress(host: "127.0.0.1", port: 6000))
        #expect(configuration.forward == nil)
        #expect(configuration.remoteSync == nil)
        #expect(configuration.connections == 4)
        #expect(configuration.payloadBytes == 10000)
        #expect(configuration.mtuBytes == 1250)
        #expect(configuration.tickInterval == .milliseconds(50))
        #expect(configuration.tockInterval == .milliseconds(250))
        #expect(configuration.bufferInterval == .milliseconds(250))
        #expect(configuration.bufferPayloads == 0)
        #expect(configuration.dup == .fling)
        #expect(configuration.localProtocol == .tcp)
        #expect(configuration.retrySkip == -1)
        #expect(configuration.windowBytes == 4 << 20)
        #expect(configuration.typeOfService == 0xB8)
    }

    @Test("a complete client and a complete server pass")
    func validConfigurations() {
        #expect(Self.failingFlag(Self.client) == nil)
        #expect(Self.failingFlag(Self.server) == nil)
    }

    @Test("the client needs --listen, --rFling and --rSync, and cannot dial port 0")
    func clientAddresses() {
        var noListen = Self.client
        noListen.listen = nil
        #expect(Self.failingFlag(noListen) == "--listen")
        #expect(Self.failingFlag(TunnelConfiguration(role: .client)) == "--rFling")
        var noSync = Self.client
        noSync.remoteSync = nil
        #expect(Self.failingFlag(noSync) == "--rSync")
        var flingPortZero = Self.client
        flingPortZero.remoteFling = EndpointAddress(host: "h", port: 0)
        #expect(Self.failingFlag(flingPortZero) == "--rFling")
        var syncPortZero = Self.client
        syncPortZero.remoteSync = EndpointAddress(host: "h", port: 0)
        #expect(Self.failingFlag(syncPortZero) == "--rSync")
        // A client may listen on port 0 (the system chooses), and needs no server-side address.
        var listenZero = Self.client
        listenZero.listen = EndpointAddress(host: "127.0.0.1", port: 0)
        listenZero.forward = nil
        #expect(Self.failingFlag(listenZero) == nil)
    }

    @Test("the server needs --lFling, --lSync and a dialable --forward")
    func serverAddresses() {
        #expect(Self.failingFlag(TunnelConfiguration(role: .server)) == "--lFling")
        var noSync = Self.server
        noSync.localSync = nil
        #expect(Self.failingFlag(noSync) == "--lSync")
        var noForward = Self.server
        noForward.forward = nil
        #expect(Self.failingFlag(noForward) == "--forward")
        // A server for transparent clients only needs no --forward.
        noForward.allowRules = [try! AllowRule.parse("198.18.20.0/24:7000")]
        #expect(Self.failingFlag(noForward) == nil)
        var forwardZero = Self.server
        forwardZero.forward = EndpointAddress(host: "127.0.0.1", port: 0)
        #expect(Self.failingFlag(forwardZero) == "--forward")
        // A server may accept on port 0, and needs no client-side address.
        var acceptZero = Self.server
        acceptZero.localFling = EndpointAddress(host: "", port: 0)
        acceptZero.listen = nil
        acceptZero.remoteSync = nil
        #expect(Self.failingFlag(acceptZero) == nil)
    }

    /// One rule: a change that breaks it, the flag it must name, and a change at its edge that passes.
    struct Rule: Sendable, CustomTestStringConvertible {
        var flag: String
        var broken: @Sendable (inout TunnelConfiguration) -> Void
        var edge: @Sendable (inout TunnelConfiguration) -> Void
        var testDescription: String { self.flag }
    }

    static let rules: [Rule] = [
        Rule(flag: "--conns", broken: { $0.connections = 0 }, edge: { $0.connections = 1 }),
        Rule(flag: "--conns", broken: { $0.connections = 1025 }, edge: { $0.connections = 1024 }),
        Rule(flag: "--lassoes", broken: { $0.lassoes = -1 }, edge: { $0.lassoes = 0 }),
        Rule(
            flag: "--lassoes",
            broken: {
                $0.dup = .both
                $0.lassoes = 1025
            },
            edge: {
                $0.dup = .both
                $0.lassoes = 1024
            }),
        Rule(flag: "--frags", broken: { $0.payloadBytes = 0 }, edge: { $0.payloadBytes = 1 }),
        Rule(
            flag: "--frags",
            broken: {
                $0.payloadBytes = WireConstants.maxPayloadBytes + 1
                $0.windowBytes = 1 << 30
            },
            edge: {
                $0.payloadBytes = WireConstants.maxPayloadBytes
                $0.windowBytes = 1 << 30
            }
        ),
        Rule(
            flag: "--window",
            broken: {
                $0.payloadBytes = 1000
                $0.windowBytes = 1999
            },
            edge: {
                $0.payloadBytes = 1000
                $0.windowBytes = 2000
            }
        ),
        Rule(flag: "--budget", broken: { $0.payloadsPerConnection = 0 }, edge: { $0.payloadsPerConnection = 1 }),
        Rule(
            flag: "--buffer",
            broken: {
                $0.payloadBytes = 1000
                $0.windowBytes = 10_000
                $0.bufferPayloads = 6
            },
            edge: {
                $0.payloadBytes = 1000
                $0.windowBytes = 10_000
                $0.bufferPayloads = 5
            }
        ),
        Rule(flag: "--buffer", broken: { $0.bufferPayloads = -1 }, edge: { $0.bufferPayloads = 0 }),
        Rule(
            flag: "--fec",
            broken: {
                $0.fecDataShards = 200
                $0.fecParityShards = 56
            }, edge: { $0.fecDataShards = 0 }),
        Rule(
            flag: "--frags",
            broken: {
                $0.localProtocol = .udp
                $0.payloadBytes = 63
            },
            edge: {
                $0.localProtocol = .udp
                $0.payloadBytes = 64
            }),
        Rule(
            flag: "--window",
            broken: {
                $0.localProtocol = .udp
                $0.payloadBytes = 10_000
                $0.windowBytes = 128 << 10
            },
            edge: {
                $0.localProtocol = .udp
                $0.payloadBytes = 10_000
                $0.windowBytes = 2 * DatagramChunk.maxFramedBytes(payloadBytes: $0.payloadBytes)
            }),
        Rule(
            flag: "--udp-idle-timeout",
            broken: {
                $0.localProtocol = .udp
                $0.udpIdleTimeout = .zero
            },
            edge: {
                $0.localProtocol = .udp
                $0.udpIdleTimeout = .seconds(1)
            }),
    ]

    @Test("a client in fling mode refuses lasso flags; the other modes take them, and port 0 cannot be dialed")
    func lassoFlagsNeedALassoMode() {
        var client = Self.client
        client.lassoes = 2
        #expect(Self.failingFlag(client) == "--lassoes")
        client.lassoes = 0
        client.remoteLasso = EndpointAddress(host: "h", port: 1)
        #expect(Self.failingFlag(client) == "--rLasso")
        for mode in [DupMode.lasso, .both, .none] {
            client.dup = mode
            client.lassoes = 2
            #expect(Self.failingFlag(client) == nil, "\(mode)")
        }
        client.remoteLasso = EndpointAddress(host: "h", port: 0)
        #expect(Self.failingFlag(client) == "--rLasso")
        // The server follows each client's mode: its own lasso listener and dup flag are fine.
        var server = Self.server
        server.localLasso = EndpointAddress(host: "", port: 0)
        server.dup = .none
        #expect(Self.failingFlag(server) == nil)
    }

    @Test(
        "lasso connections: none in fling mode, --lassoes or else --conns in the others; dialed at --rLasso or the fling address"
    )
    func effectiveLassoes() {
        var client = Self.client
        client.connections = 6
        #expect(client.effectiveLassoes == 0)
        client.dup = .lasso
        #expect(client.effectiveLassoes == 6)
        client.lassoes = 3
        #expect(client.effectiveLassoes == 3)
        #expect(client.lassoTarget == client.remoteFling)
        client.remoteLasso = EndpointAddress(host: "10.0.0.1", port: 7)
        #expect(client.lassoTarget == EndpointAddress(host: "10.0.0.1", port: 7))
    }

    @Test("each rule names its own flag, for either role, and its edge passes", arguments: rules)
    func rule(_ rule: Rule) {
        for base in [Self.client, Self.server] {
            var broken = base
            rule.broken(&broken)
            #expect(Self.failingFlag(broken) == rule.flag, "\(base.role)")
            var edge = base
            rule.edge(&edge)
            #expect(Self.failingFlag(edge) == nil, "\(base.role)")
        }
    }

    @Test("the error prints as one line: flag, colon, message")
    func errorText() {
        var configuration = Self.client
        configuration.connections = 0
        #expect(throws: ConfigurationError(flag: "--conns", "0 is out of range 1...1024")) {
            try configuration.validate()
        }
        #expect(
            ConfigurationError(flag: "--conns", "0 is out of range 1...1024").description
                == "--conns: 0 is out of range 1...1024")
    }

    @Test(
        "the decoder limits follow the payload size (at least the large-cut size without FEC), capped at the wire maximum"
    )
    func frameLimits() {
        var configuration = Self.client
        configuration.payloadBytes = 1400
        #expect(configuration.frameLimits == FrameLimits(maxPayloadBytes: 65536))
        configuration.fecDataShards = 4
        configuration.fecParityShards = 1
        #expect(configuration.frameLimits == FrameLimits(maxPayloadBytes: 1400))
        #expect(configuration.frameLimits.maxBodyBytes(for: .payload) == 24 + 1400 + 32)
        configuration.payloadBytes = 2 << 20
        #expect(configuration.frameLimits == FrameLimits(maxPayloadBytes: 1 << 20))
    }

    @Test("roles and modes print and parse by their flag names")
    func names() {
        #expect(Role.client.description == "client")
        #expect(Role(rawValue: "server") == .server)
        #expect(DupMode.allCases.map(\.rawValue) == ["fling", "lasso", "both", "none"])
        #expect(LocalProtocol.allCases.map(\.rawValue) == ["tcp", "udp"])
    }

    @Test("retries, with or without skipping, are a valid configuration")
    func retriesAccepted() throws {
        var configuration = TunnelConfiguration(role: .server)
        configuration.localFling = EndpointAddress(host: "127.0.0.1", port: 1)
        configuration.localSync = EndpointAddress(host: "127.0.0.1", port: 2)
        configuration.forward = EndpointAddress(host: "127.0.0.1", port: 3)
        configuration.retries = true
        configuration.retrySkip = 3
        try configuration.validate()
        #expect(configuration.housekeepingInterval < .milliseconds(250))
    }

    @Test("FEC within 255 shards is a valid configuration")
    func fecAccepted() throws {
        var configuration = TunnelConfiguration(role: .server)
        configuration.localFling = EndpointAddress(host: "127.0.0.1", port: 1)
        configuration.localSync = EndpointAddress(host: "127.0.0.1", port: 2)
        configuration.forward = EndpointAddress(host: "127.0.0.1", port: 3)
        configuration.fecDataShards = 10
        configuration.fecParityShards = 3
        try configuration.validate()
        configuration.fecDataShards = 200
        configuration.fecParityShards = 55
        try configuration.validate()
    }

    @Test("connection budgets are spread ±25% around --budget, and a budget of 1 stays 1")
    func budgetJitter() {
        var configuration = TunnelConfiguration(role: .client)
        var generator = SystemRandomNumberGenerator()
        configuration.payloadsPerConnection = 64
        let budgets = (0..<500).map { _ in configuration.connectionBudget(using: &generator) }
        #expect(budgets.allSatisfy { (48...80).contains($0) })
        #expect(Set(budgets).count > 10)
        configuration.payloadsPerConnection = 1
        #expect((0..<50).allSatisfy { _ in configuration.connectionBudget(using: &generator) == 1 })
    }

    @Test("large payloads are cut only on a fast path, and never where payload sizes matter or were chosen")
    func largeCutGate() {
        let defaults = TunnelConfiguration(role: .client)
        #expect(defaults.largeCutBytes(largePayloadsPay: false) == 0)
        #expect(defaults.largeCutBytes(largePayloadsPay: true) == 65536)
        // Retries (on by default) resend whole payloads of any size: no reason to keep them small.
        #expect(defaults.retries)
        // The receiving side accepts them unless FEC fixes the shard size.
        #expect(defaults.frameLimits.maxPayloadBytes == 65536)
        let excluded: [(String, (inout TunnelConfiguration) -> Void)] = [
            (
                "fec",
                {
                    $0.fecDataShards = 4; $0.fecParityShards = 1
                }
            ),
            ("udp", { $0.localProtocol = .udp }),
            ("exact budget", { $0.scalesBudget = false }),
            ("budget 1", { $0.payloadsPerConnection = 1 }),
            ("64 KiB payloads", { $0.payloadBytes = 65536 }),
        ]
        for (name, change) in excluded {
            var configuration = TunnelConfiguration(role: .client)
            change(&configuration)
            #expect(configuration.largeCutBytes(largePayloadsPay: true) == 0, "\(name)")
        }
        var fec = TunnelConfiguration(role: .server)
        fec.fecDataShards = 4
        fec.fecParityShards = 1
        #expect(fec.frameLimits.maxPayloadBytes == 10000)
    }

    @Test("--budget auto (the default) scales from 64 payloads; an exact budget never scales")
    func budgetScaling() {
        var configuration = TunnelConfiguration(role: .client)
        #expect(configuration.scalesBudget && configuration.payloadsPerConnection == 64)
        var scaler = configuration.makeBudgetScaler()
        scaler.budgetSpent(factor: 1, lifetime: .milliseconds(200))
        #expect(scaler.budget == 128)
        var generator = SystemRandomNumberGenerator()
        #expect(
            (0..<50).allSatisfy { _ in
                (96...160).contains(configuration.connectionBudget(baseBudget: scaler.budget, using: &generator))
            })
        configuration.scalesBudget = false
        configuration.payloadsPerConnection = 1
        var exact = configuration.makeBudgetScaler()
        exact.budgetSpent(factor: 1, lifetime: .zero)
        #expect(exact.budget == 1)
        // A budget of 1 is the original's one payload per connection even if scaling is left on.
        configuration.scalesBudget = true
        var one = configuration.makeBudgetScaler()
        one.budgetSpent(factor: 1, lifetime: .zero)
        #expect(one.budget == 1)
    }
}
