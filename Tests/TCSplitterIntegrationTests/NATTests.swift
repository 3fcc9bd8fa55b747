import Foundation
import TCSplitterCore
import Testing

extension IntegrationTests {
    /// The client end behind a NAT: three network namespaces (client host, router, server host);
    /// the router masquerades the client's connections, the server host has no route back to the
    /// client's network, and the client host drops every inbound connection attempt (counted).
    /// Lasso and both modes must still carry downstream data: every connection is dialed by the
    /// client. Needs root; skipped with the reason otherwise.
    @Suite("Client behind NAT", .serialized)
    struct NATTests {
        @Test(
            "lasso and both modes deliver downstream data through a masquerading router, with no inbound connection to the client",
            .enabled(if: NetworkNamespaces.available, "\(NetworkNamespaces.unavailableReason ?? "")"),
            .timeLimit(.minutes(1)),
            arguments: [DupMode.lasso, .both]
        )
        func behindNAT(mode: DupMode) async throws {
            let spaces = NetworkNamespaces(tag: "nat")
            defer { spaces.removeAll() }
            let client = try spaces.add("c")
            let router = try spaces.add("r")
            let server = try spaces.add("s")
            try spaces.link(client, "eth0", "198.18.1.2/24", to: router, "lan", "198.18.1.1/24")
            try spaces.link(router, "wan", "198.18.2.1/24", to: server, "eth0", "198.18.2.2/24")
            try spaces.exec(client, [NetworkNamespaces.ipCommand, "route", "add", "default", "via", "198.18.1.1"])
            try spaces.exec(router, ["/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=1"])
            // The server host knows only its own /24: it cannot reach 198.18.1.0/24 at all.
            try spaces.nft(
                router,
                """
                table ip nat {
                    chain postrouting { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }
                }
                """)
            try spaces.nft(
                client,
                """
                table inet guard {
                    chain input { type filter hook input priority filter; iifname "eth0" ct state new counter drop; }
                }
                """)
            try spaces.nft(
                server,
                """
                table inet seen {
                    chain input { type filter hook input priority filter; tcp flags syn ip saddr 198.18.2.1 counter; }
                }
                """)

            try await withProcesses { scope in
                let echo = try scope.launch("echo", ["echo", "--listen", "127.0.0.1:0"], inNamespace: server)
                let echoPort = try SplitterProcess.port("listen", in: try await echo.ready())
                let flags = ["--tick", "0", "--tock", "0", "--buffer", "0"]
                let serverEnd = try scope.launch(
                    "server",
                    [
                        "server", "--lFling", "198.18.2.2:0", "--lSync", "198.18.2.2:0", "--forward",
                        "127.0.0.1:\(echoPort)",
                    ]
                        + flags,
                    inNamespace: server)
                let serverFields = try await serverEnd.ready()
                let flingPort = try SplitterProcess.port("fling", in: serverFields)
                let syncPort = try SplitterProcess.port("sync", in: serverFields)
                let clientEnd = try scope.launch(
                    "client",
                    [
                        "client", "--listen", "127.0.0.1:0", "--rFling", "198.18.2.2:\(flingPort)",
                        "--rSync", "198.18.2.2:\(syncPort)", "--dup", mode.rawValue, "--lassoes", "4",
                    ] + flags,
                    inNamespace: client)
                let listenPort = try SplitterProcess.port("listen", in: try await clientEnd.ready())
                let probe = try scope.launch(
                    "probe",
                    [
                        "probe", "--connect", "127.0.0.1:\(listenPort)", "--bytes", "8MiB", "--sessions", "2",
                        "--timeout", "40000",
                    ],
                    inNamespace: client)
                let ended = await probe.waitForExit(timeout: .seconds(45))
                #expect(ended == .exited(0), "\(mode): \(probe.diagnostics)\n\(scope.diagnostics)")
                #expect(probe.standardOutput.count(of: "probe: OK") == 1, "\(probe.diagnostics)")

                let guardCounter = try spaces.exec(
                    client, [NetworkNamespaces.nftCommand, "list", "table", "inet", "guard"])
                let seenCounter = try spaces.exec(
                    server, [NetworkNamespaces.nftCommand, "list", "table", "inet", "seen"])
                let dropped = Self.packets(in: guardCounter) ?? -1
                let masqueraded = Self.packets(in: seenCounter) ?? -1
                print(
                    "NAT \(mode): inbound connection attempts dropped at the client: \(dropped); connections the server saw from the router's address: \(masqueraded)"
                )
                #expect(dropped == 0, "\(mode): something tried to connect to the client:\n\(guardCounter)")
                #expect(masqueraded > 2, "\(mode): the server saw no masqueraded connections:\n\(seenCounter)")
            }
        }

        /// The packet count of the first `counter packets N bytes M` in an nft listing.
        static func packets(in listing: String) -> Int? {
            guard let range = listing.range(of: "counter packets ") else { return nil }
            return Int(listing[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
