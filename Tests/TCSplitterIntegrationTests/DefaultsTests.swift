import Foundation
import NIOCore
import TCSplitterNIO
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// What a newcomer gets with no tuning flag at all: request/response traffic that does not
    /// wait for the clocks, stealth's fixed clocks kept, ends that agree or say why not, and a
    /// client that says at once when its server cannot be reached. Bounds are loose (a shared CI
    /// machine); the benchmark (`utils/bench --scenario 4` and 6) measures the real figures.
    @Suite("Defaults")
    struct DefaultsTests {
        static let eventDriven = ["--tick", "0", "--tock", "0", "--buffer", "0"]

        /// An application connecting to `port` is turned away (reset, or never echoed exactly)
        /// within `within`, rather than held until the open timeout.
        static func expectTurnedAway(port: Int, within: Duration, group: EventLoopGroup) async {
            let started = ContinuousClock.now
            let outcome = await Result {
                try await ProbeClient.run(
                    host: "127.0.0.1", port: port, bytes: 1000, seed: 1, timeout: .seconds(20), group: group
                ).get()
            }
            if case .success(let result) = outcome { #expect(!result.isExact, "\(result)") }
            #expect(ContinuousClock.now - started < within, "held for \(ContinuousClock.now - started)")
        }

        @Test(
            "At default flags a 100-byte request/response pays no clock: its p50 stays within milliseconds of event-driven",
            .timeLimit(.minutes(1))
        )
        func requestResponseAtDefaults() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    var p50: [String: Double] = [:]
                    for (name, flags) in [("event-driven", Self.eventDriven), ("defaults", [])] {
                        try await withProcesses { scope in
                            let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: flags)
                            let samples = try await PlainSocket.roundTrips(
                                port: tunnel.listenPort, count: 300, timeout: .seconds(30))
                            #expect(samples.microseconds.count == 300)
                            p50[name] = samples.percentile(0.5)
                            print("round trips, 100 bytes, \(name): \(samples)")
                        }
                    }
                    // Before adaptive clocks the defaults took a tock and a forwarder release on
                    // each side: about 1,000,000 µs. The benchmark shows the real gap (under 1 ms).
                    let added = (p50["defaults"] ?? .infinity) - (p50["event-driven"] ?? 0)
                    #expect(added < 20_000, "defaults p50 exceeds event-driven's by \(added) µs: \(p50)")
                }
            }
        }

        @Test(
            "--mode stealth keeps the original's fixed clocks: a lone round trip still waits for the tocks",
            .timeLimit(.minutes(1)))
        func stealthKeepsFixedClocks() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: ["--mode", "stealth"])
                        let samples = try await PlainSocket.roundTrips(
                            port: tunnel.listenPort, count: 3, warmup: 1, timeout: .seconds(30))
                        #expect(samples.microseconds.count == 3)
                        #expect(samples.microseconds.allSatisfy { $0 >= 200_000 }, "\(samples)")
                    }
                }
            }
        }

        @Test(
            "With --protocol udp and no tuning flag, datagrams echoed one at a time pay no clock",
            .timeLimit(.minutes(1))
        )
        func udpAtDefaults() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: ["--protocol", "udp"])
                        let plan = UDPProbeClient.Plan(
                            count: 100, minBytes: 100, maxBytes: 100, window: 1, lossTimeout: .seconds(5), seed: 11)
                        let result = try #require(
                            try await udpProbe(port: tunnel.listenPort, plan: plan, timeout: .seconds(30), group: group)
                                .first)
                        #expect(result.received == 100 && result.lost == 0 && result.corrupt == 0, "\(result)")
                        // At the old defaults each of the 100 took about a second.
                        #expect(result.elapsed < .seconds(3), "\(result)")
                    }
                }
            }
        }

        @Test(
            "A clean loopback at default flags (retries on) resends at most 1% of its payloads",
            .timeLimit(.minutes(2))
        )
        func fewResendsOnCleanLoopback() async throws {
            let resent = "tcsplitter_payloads_resent_total"
            let sent = "tcsplitter_payloads_total{direction=\"sent\"}"
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let server = try await scope.startServer(
                            forwardPort: echoPort, flags: ["--metrics", "127.0.0.1:0"])
                        let client = try await scope.startClient(
                            flingPort: server.flingPort, syncPort: server.syncPort, flags: ["--metrics", "127.0.0.1:0"])
                        let mismatches = await probeMismatches(
                            port: client.listenPort, sessions: 2, bytes: 32 * Size.mebibyte, timeout: .seconds(90),
                            group: group)
                        #expect(mismatches.isEmpty, "\(mismatches)\n\(scope.diagnostics)")
                        var totals: [String: Double] = [:]
                        for end in [server.process, client.process] {
                            let port = try SplitterProcess.port("metrics", in: try await end.ready())
                            let metrics = try await MetricsScrape.fetch(port: port)
                            totals[resent, default: 0] += metrics[resent] ?? .nan
                            totals[sent, default: 0] += metrics[sent] ?? .nan
                        }
                        print("payloads sent \(totals[sent] ?? 0), resent \(totals[resent] ?? 0)")
                        #expect((totals[sent] ?? 0) > 0)
                        #expect((totals[resent] ?? .infinity) <= 0.01 * (totals[sent] ?? 0), "\(totals)")
                    }
                }
            }
        }

        @Test(
            "Ends whose --frags differ refuse each other at connect time, each naming the flag and both values",
            .timeLimit(.minutes(1))
        )
        func mismatchNamedOnBothEnds() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let server = try await scope.startServer(forwardPort: echoPort)
                        let client = try await scope.startClient(
                            flingPort: server.flingPort, syncPort: server.syncPort, flags: ["--frags", "65536:1250"])
                        _ = try await client.process.logLine(
                            containing: "--frags: this end 65536, the peer 10000", timeout: .seconds(10))
                        _ = try await server.process.logLine(
                            containing: "--frags: this end 10000, the peer 65536", timeout: .seconds(10))
                        // An application is turned away at once, not after the open timeout.
                        await Self.expectTurnedAway(port: client.listenPort, within: .seconds(5), group: group)
                    }
                }
            }
        }

        @Test(
            "A client whose server cannot be reached says so, naming the address, and resets local connections at once",
            .timeLimit(.minutes(1))
        )
        func unreachableServerFailsFast() async throws {
            try await withEventLoopGroup { group in
                // A loopback port nothing listens on: bind one, note it, close it.
                let closed = try await EchoService.start(host: "127.0.0.1", port: 0, group: group).get()
                let port = try #require(closed.localAddress?.port)
                try await closed.close()
                try await withProcesses { scope in
                    let client = try await scope.startClient(
                        flingPort: port, syncPort: port, flags: ["--dial-timeout", "2000"])
                    _ = try await client.process.logLine(
                        containing: "cannot reach the server's sync address 127.0.0.1:\(port)", timeout: .seconds(5))
                    await Self.expectTurnedAway(port: client.listenPort, within: .seconds(3), group: group)
                }
            }
        }
    }
}

extension IntegrationTests.DefaultsTests {
    @Test(
        "The server follows the client's tuning: fixed clocks on the client alone make both directions wait for the tock",
        .timeLimit(.minutes(1))
    )
    func serverFollowsClientTuning() async throws {
        try await withEventLoopGroup { group in
            try await withEchoService(group: group) { echoPort in
                try await withProcesses { scope in
                    let server = try await scope.startServer(forwardPort: echoPort)
                    let client = try await scope.startClient(
                        flingPort: server.flingPort, syncPort: server.syncPort,
                        flags: ["--clocks", "fixed", "--tick", "0", "--buffer", "0"])
                    _ = try await server.process.logLine(
                        containing: "--tick 0 --tock 250 --buffer 0:0 --clocks fixed", timeout: .seconds(10))
                    // The request waits for the client's tock, the echo for the server's (the
                    // server's own flags are the adaptive defaults, which would send it at once).
                    let samples = try await PlainSocket.roundTrips(
                        port: client.listenPort, count: 3, warmup: 1, timeout: .seconds(30))
                    #expect(samples.microseconds.allSatisfy { $0 >= 450_000 }, "\(samples)")
                }
            }
        }
    }
}

extension IntegrationTests.DefaultsTests {
    @Test(
        "Ends whose keys differ say so on both ends, naming --key",
        .timeLimit(.minutes(1)),
        arguments: [
            (
                ["--key", "one-key-for-the-server-0123456"], [String](),
                "--key: this end requires a key, the client has none",
                "--key: the server requires a key, this end has none"
            ),
            (
                ["--key", "one-key-for-the-server-0123456"], ["--key", "another-key-for-the-client-01"],
                "--key: a hello without a valid key proof", "is --key (or the key file) the same on both ends?"
            ),
            (
                [String](), ["--key", "another-key-for-the-client-01"], "--key: the client uses a key, this end none",
                "--key: this end uses a key, the server none"
            ),
        ] as [([String], [String], String, String)]
    )
    func keyMismatchNamedOnBothEnds(
        serverFlags: [String], clientFlags: [String], serverSays: String, clientSays: String
    )
        async throws
    {
        try await withEventLoopGroup { group in
            try await withEchoService(group: group) { echoPort in
                try await withProcesses { scope in
                    let server = try await scope.startServer(forwardPort: echoPort, flags: serverFlags)
                    let client = try await scope.startClient(
                        flingPort: server.flingPort, syncPort: server.syncPort, flags: clientFlags)
                    _ = try await server.process.logLine(containing: serverSays, timeout: .seconds(10))
                    _ = try await client.process.logLine(containing: clientSays, timeout: .seconds(10))
                }
            }
        }
    }
}
