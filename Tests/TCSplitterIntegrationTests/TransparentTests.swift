import Foundation
import Testing

extension IntegrationTests {
    /// `--transparent`: three namespaces (an application host, a router running the client end
    /// behind an nftables REDIRECT rule, a remote host running the server end and three
    /// services). The application dials each service's real address, unmodified; the router
    /// redirects it into the tunnel, and the server dials the original destination only when its
    /// `--allow` list admits it. Each service sits behind a counting relay, so the test sees which
    /// service every session reached. Needs root; skipped with the reason otherwise.
    @Suite("Transparent mode", .serialized)
    struct TransparentTests {
        static let key = ["--key", "transparent-test-key-0123456789"]
        static let eventDriven = ["--tick", "0", "--tock", "0", "--buffer", "0"]

        /// The addresses of one run: IPv4 from 198.18.0.0/15, IPv6 from 2001:2::/48.
        struct Plan: Sendable, CustomTestStringConvertible {
            var ipv6: Bool
            var shared: [String]
            var clientOnly: [String]
            var testDescription: String { "\(self.ipv6 ? "IPv6" : "IPv4") \(self.clientOnly + self.shared)" }

            var hostAddress: String { self.ipv6 ? "2001:2:0:10::2/64" : "198.18.10.2/24" }
            var lanAddress: String { self.ipv6 ? "2001:2:0:10::1/64" : "198.18.10.1/24" }
            var gateway: String { self.ipv6 ? "2001:2:0:10::1" : "198.18.10.1" }
            var wanAddress: String { self.ipv6 ? "2001:2:0:20::1/64" : "198.18.20.1/24" }
            var remoteAddress: String { self.ipv6 ? "2001:2:0:20::2/64" : "198.18.20.2/24" }
            var remote: String { self.ipv6 ? "2001:2:0:20::2" : "198.18.20.2" }
            func remote(port: Int) -> String { self.ipv6 ? "[\(self.remote)]:\(port)" : "\(self.remote):\(port)" }
            var allow: String { self.ipv6 ? "[2001:2:0:20::2/128]:7001-7002" : "198.18.20.2/32:7001-7002" }
            var listen: String { self.ipv6 ? "[::]:6000" : "0.0.0.0:6000" }
            var redirect: String {
                let (family, match) =
                    self.ipv6 ? ("ip6", "ip6 daddr 2001:2:0:20::/64") : ("ip", "ip daddr 198.18.20.0/24")
                return """
                    table \(family) tcs {
                        chain prerouting {
                            type nat hook prerouting priority dstnat;
                            iifname "lan" \(match) tcp dport 7001-7003 redirect to :6000
                        }
                    }
                    """
            }
        }

        static let plans = [
            Plan(ipv6: false, shared: eventDriven, clientOnly: []),
            Plan(
                ipv6: false, shared: eventDriven + ["--fec", "4:1", "--retries", "1:-1", "--conns", "10"] + key,
                clientOnly: ["--dup", "both"]),
            Plan(ipv6: true, shared: eventDriven + key, clientOnly: ["--dup", "lasso"]),
        ]

        @Test(
            "redirected connections reach the service they were dialed to, byte-exact; a destination outside --allow is refused",
            .enabled(if: NetworkNamespaces.available, "\(NetworkNamespaces.unavailableReason ?? "")"),
            .timeLimit(.minutes(1)),
            arguments: plans
        )
        func redirected(plan: Plan) async throws {
            let spaces = NetworkNamespaces(tag: "tp")
            defer { spaces.removeAll() }
            let host = try spaces.add("h")
            let router = try spaces.add("r")
            let remote = try spaces.add("s")
            try spaces.link(host, "eth0", plan.hostAddress, to: router, "lan", plan.lanAddress)
            try spaces.link(router, "wan", plan.wanAddress, to: remote, "eth0", plan.remoteAddress)
            try spaces.exec(
                host,
                [NetworkNamespaces.ipCommand] + (plan.ipv6 ? ["-6"] : []) + [
                    "route", "add", "default", "via", plan.gateway,
                ])
            try spaces.exec(
                router,
                ["/usr/sbin/sysctl", "-qw", plan.ipv6 ? "net.ipv6.conf.all.forwarding=1" : "net.ipv4.ip_forward=1"])
            // The remote host has no route to the application's network: only the tunnel reaches it.
            try spaces.nft(router, plan.redirect)

            try await withProcesses { scope in
                // Three services on the remote host, each an echo behind a counting relay.
                var relays: [SplitterProcess] = []
                for port in 7001...7003 {
                    let echo = try scope.launch(
                        "echo \(port)", ["echo", "--listen", "127.0.0.1:0"], inNamespace: remote)
                    let echoPort = try SplitterProcess.port("listen", in: try await echo.ready())
                    let relay = try scope.launch(
                        "service \(port)",
                        [
                            "chaos-proxy", "--listen", plan.remote(port: port), "--to", "127.0.0.1:\(echoPort)",
                            "--kill-percent", "0",
                        ],
                        inNamespace: remote)
                    _ = try await relay.ready()
                    relays.append(relay)
                }
                let server = try scope.launch(
                    "server",
                    [
                        "server", "--lFling", plan.remote(port: 0), "--lSync", plan.remote(port: 0), "--allow",
                        plan.allow,
                    ]
                        + plan.shared,
                    inNamespace: remote)
                let fields = try await server.ready()
                let flingPort = try SplitterProcess.port("fling", in: fields)
                let syncPort = try SplitterProcess.port("sync", in: fields)
                let client = try scope.launch(
                    "client",
                    [
                        "client", "--transparent", "--listen", plan.listen, "--rFling", plan.remote(port: flingPort),
                        "--rSync", plan.remote(port: syncPort),
                    ] + plan.shared + plan.clientOnly,
                    inNamespace: router)
                _ = try await client.ready()

                // The application: dials the services' real addresses, knowing nothing of the tunnel.
                for (port, sessions) in [(7001, 2), (7002, 3)] {
                    let probe = try scope.launch(
                        "probe \(port)",
                        [
                            "probe", "--connect", plan.remote(port: port), "--bytes", "4MiB", "--sessions",
                            "\(sessions)", "--timeout", "30000",
                        ],
                        inNamespace: host)
                    let ended = await probe.waitForExit(timeout: .seconds(40))
                    #expect(ended == .exited(0), "probe of \(port): \(probe.diagnostics)\n\(scope.diagnostics)")
                }
                let refused = try scope.launch(
                    "probe 7003",
                    ["probe", "--connect", plan.remote(port: 7003), "--bytes", "1KiB", "--timeout", "15000"],
                    inNamespace: host)
                let refusedEnd = await refused.waitForExit(timeout: .seconds(20))
                #expect(refusedEnd == .exited(1), "a destination outside --allow must fail: \(refused.diagnostics)")
                scope.release(refused)
                let line = try await server.logLine(containing: "refusing session", timeout: .seconds(10))
                #expect(line.contains(plan.remote(port: 7003)) && line.contains("--allow"), "\(line)")

                // Each service saw exactly the sessions dialed to it; the refused one saw none.
                var counts: [Int] = []
                for relay in relays {
                    counts.append(try await RelayReport.stop(relay).connections)
                }
                print("transparent \(plan.testDescription): connections per service 7001/7002/7003: \(counts)")
                #expect(counts == [2, 3, 0], "\(scope.diagnostics)")
            }
        }
    }
}
