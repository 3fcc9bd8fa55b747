import NIOCore
import NIOPosix
import TCSplitterNIO
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// `--protocol udp`: datagrams through the tunnel to a UDP echo service and back, checked one
    /// by one (size, bytes, order) and with SHA-256 over the whole sequence. The probe keeps a
    /// bounded number in flight, so loopback's socket buffers never drop a datagram before it
    /// reaches the tunnel: any loss counted is the tunnel's.
    @Suite("UDP tunnelling")
    struct UDPTests {
        static let udpEventDriven = ["--protocol", "udp", "--tick", "0", "--tock", "0", "--buffer", "0"]

        @Test(
            "100,000 datagrams of random sizes from 1 to 8,000 bytes come back intact and in order",
            .timeLimit(.minutes(6))
        )
        func hundredThousandDatagrams() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: Self.udpEventDriven)
                        // 24 in flight: 24 of the largest (about 16.6 KiB of kernel memory each on
                        // loopback) still fit the 416 KiB a socket gets with the default
                        // net.core.rmem_max, so the echo path cannot drop one even when a process is
                        // descheduled. The debug build is CPU-bound here (1,100-1,600 datagrams/s, 64-91 s
                        // on a 2-core machine; CI's needed over 150 s), so 300 s are allowed.
                        let plan = UDPProbeClient.Plan(
                            count: 100_000, minBytes: 1, maxBytes: 8000, window: 24, lossTimeout: .seconds(10), seed: 42
                        )
                        let kernelBefore = KernelUDPCounters.read()
                        let results = try await udpProbe(
                            port: tunnel.listenPort, plan: plan, timeout: .seconds(300), group: group
                        )
                        let kernel = KernelUDPCounters.read().since(kernelBefore)
                        let result = try #require(results.first)
                        #expect(result.isExact, "\(result); \(kernel)\n\(scope.diagnostics)")
                        #expect(result.sent == 100_000)
                        let seconds = Double(result.elapsed.nanoseconds) / 1e9
                        print(
                            "udp: 100,000 datagrams (\(result.bytesSent) bytes) echoed in \(seconds) s: \(Double(result.received) / seconds) datagrams/s"
                        )
                    }
                }
            }
        }

        @Test(
            "50 concurrent source addresses are 50 sessions, each echoed intact and in order", .timeLimit(.minutes(2)))
        func fiftySources() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: echoPort,
                            flags: Self.udpEventDriven + ["--log-level", "debug"]
                        )
                        let plan = UDPProbeClient.Plan(
                            count: 400, minBytes: 0, maxBytes: 3000, window: 4, lossTimeout: .seconds(10), seed: 7
                        )
                        let results = try await udpProbe(
                            port: tunnel.listenPort, plan: plan, sessions: 50, timeout: .seconds(90), group: group
                        )
                        let broken = results.enumerated().filter { !$0.element.isExact }
                        #expect(
                            broken.isEmpty,
                            "\(broken.map { "source \($0.offset): \($0.element)" })\n\(scope.diagnostics)")
                        #expect(results.reduce(0) { $0 + $1.received } == 50 * 400)
                        #expect(tunnel.server.process.standardError.count(of: "udp session opened") == 50)
                    }
                }
            }
        }

        @Test("IPv6: the client listens on ::1 and the server forwards to ::1", .timeLimit(.minutes(1)))
        func ipv6() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group, host: "::1") { echoPort in
                    try await withProcesses { scope in
                        let server = try scope.launch(
                            "server",
                            ["server", "--lFling", "[::1]:0", "--lSync", "[::1]:0", "--forward", "[::1]:\(echoPort)"]
                                + Self.udpEventDriven
                        )
                        let serverFields = try await server.ready()
                        let client = try scope.launch(
                            "client",
                            [
                                "client", "--listen", "[::1]:0",
                                "--rFling", "[::1]:\(try SplitterProcess.port("fling", in: serverFields))",
                                "--rSync", "[::1]:\(try SplitterProcess.port("sync", in: serverFields))",
                            ] + Self.udpEventDriven
                        )
                        let listenPort = try SplitterProcess.port("listen", in: try await client.ready())
                        let plan = UDPProbeClient.Plan(
                            count: 2000, minBytes: 1, maxBytes: 8000, window: 16, lossTimeout: .seconds(10), seed: 6
                        )
                        let results = try await udpProbe(
                            host: "::1", port: listenPort, plan: plan, timeout: .seconds(45), group: group
                        )
                        let result = try #require(results.first)
                        #expect(result.isExact, "\(result)\n\(scope.diagnostics)")
                        // IPv6 carries datagrams up to 65,527 bytes, past what UDP mode carries:
                        // counted, dropped, logged; never truncated.
                        let sender = try await DatagramBootstrap(group: group).connect(host: "::1", port: listenPort)
                            .get()
                        try await sender.writeAndFlush(ByteBuffer(repeating: 0xAB, count: 65_520))
                        _ = try await client.logLine(
                            containing: "dropped a datagram of 65520 bytes", timeout: .seconds(5))
                        try await sender.close()
                    }
                }
            }
        }

        @Test(
            "an idle session expires after --udp-idle-timeout on both ends, and the same tunnel serves new ones",
            .timeLimit(.minutes(1))
        )
        func idleExpiry() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: echoPort,
                            flags: Self.udpEventDriven + ["--udp-idle-timeout", "1"]
                        )
                        let plan = UDPProbeClient.Plan(
                            count: 200, minBytes: 8, maxBytes: 1000, window: 8, lossTimeout: .seconds(10), seed: 3
                        )
                        let first = try await udpProbe(
                            port: tunnel.listenPort, plan: plan, timeout: .seconds(20), group: group)
                        #expect(first.allSatisfy { $0.isExact }, "\(first)")
                        // Either end may expire it first; it tells the other, so both end it.
                        let start = ContinuousClock.now
                        for end in [tunnel.client.process, tunnel.server.process] {
                            try await end.logLines(containing: "udp session ended", count: 1, timeout: .seconds(10))
                        }
                        let waited = ContinuousClock.now - start
                        #expect(waited < .seconds(5), "ended only after \(waited)")
                        let logs = [tunnel.client.process, tunnel.server.process].map(\.standardError)
                        // One end expires it and the other hears of it (or both expire it at once).
                        let expired = logs.reduce(0) { $0 + $1.count(of: "udp session expired") }
                        let told = logs.reduce(0) { $0 + $1.count(of: "session reset by the peer: UDP session idle") }
                        #expect(
                            expired >= 1 && expired + told == 2,
                            "expired \(expired), told \(told)\n\(scope.diagnostics)")
                        let second = try await udpProbe(
                            port: tunnel.listenPort, plan: plan, timeout: .seconds(20), group: group)
                        #expect(second.allSatisfy { $0.isExact }, "\(second)")
                        for end in [tunnel.client.process, tunnel.server.process] {
                            try await end.logLines(containing: "udp session ended", count: 2, timeout: .seconds(10))
                        }
                    }
                }
            }
        }

        @Test(
            "ends that disagree on --protocol refuse each other at connect time, naming the flag, not with garbage",
            .timeLimit(.minutes(1))
        )
        func protocolMismatch() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let server = try await scope.startServer(forwardPort: echoPort, flags: Self.udpEventDriven)
                        let client = try await scope.startClient(
                            flingPort: server.flingPort,
                            syncPort: server.syncPort,
                            flags: ["--tick", "0", "--tock", "0", "--buffer", "0"]
                        )
                        let mismatches = await probeMismatches(
                            port: client.listenPort, sessions: 1, bytes: 64 << 10, timeout: .seconds(10), group: group
                        )
                        #expect(mismatches.count == 1, "a TCP stream went through a UDP server unnoticed")
                        // Refused at connect time (the hellos declare the protocol), on both ends.
                        _ = try await server.process.logLine(
                            containing: "--protocol: this end udp, the peer tcp", timeout: .seconds(5))
                        _ = try await client.process.logLine(
                            containing: "--protocol: this end tcp, the peer udp", timeout: .seconds(5))
                    }
                }
            }
        }

        @Test(
            "--max-sessions caps the source addresses served: datagrams from one more are dropped and logged",
            .timeLimit(.minutes(1)))
        func sessionCap() async throws {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: echoPort,
                            flags: Self.udpEventDriven + ["--max-sessions", "2"]
                        )
                        let plan = UDPProbeClient.Plan(
                            count: 20, minBytes: 8, maxBytes: 500, window: 1, lossTimeout: .milliseconds(500), seed: 5
                        )
                        let results = try await udpProbe(
                            port: tunnel.listenPort, plan: plan, sessions: 3, timeout: .seconds(40), group: group
                        )
                        #expect(results.filter { $0.isExact }.count == 2, "\(results)")
                        #expect(results.filter { $0.received == 0 }.count == 1, "\(results)")
                        _ = try await tunnel.client.process.logLine(
                            containing: "2 sessions open (--max-sessions", timeout: .seconds(5))
                    }
                }
            }
        }
    }
}
