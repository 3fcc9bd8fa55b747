import NIOCore
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// Random bytes through the tunnel to an echo service and back, checked with SHA-256.
    @Suite("Byte-exact transfers")
    struct TransferTests {
        /// The original's pacing switched off: every timer event-driven.
        static let eventDriven = ["--tick", "0", "--tock", "0", "--buffer", "0"]

        @Test(
            "64 MiB each way through one session with tick, tock and buffer 0 comes back byte-exact",
            .timeLimit(.minutes(1))
        )
        func oneLargeSessionEventDriven() async throws {
            try await self.transfer(sessions: 1, bytes: 64 * Size.mebibyte, flags: Self.eventDriven)
        }

        @Test("20 concurrent sessions of 2 MiB each come back byte-exact", .timeLimit(.minutes(1)))
        func twentyConcurrentSessions() async throws {
            try await self.transfer(sessions: 20, bytes: 2 * Size.mebibyte, flags: Self.eventDriven)
        }

        // The full 64 MiB: at the defaults it takes about 2-3 s here (debug build), as the
        // tick only delays reads after the local socket was drained.
        @Test(
            "64 MiB each way at the original defaults (tick 50, tock 250, buffer 250:0) comes back byte-exact",
            .timeLimit(.minutes(1))
        )
        func oneLargeSessionAtDefaults() async throws {
            try await self.transfer(sessions: 1, bytes: 64 * Size.mebibyte, flags: [])
        }

        @Test(
            "4 sessions of 1 MiB with --budget 1 (one payload per fling connection) come back byte-exact",
            .timeLimit(.minutes(1))
        )
        func connectionChurnWithBudgetOne() async throws {
            try await self.transfer(sessions: 4, bytes: Size.mebibyte, flags: ["--budget", "1"])
        }

        // One connection, so each carries the whole stream and spends a budget of 64 payloads
        // (640 kB) in milliseconds even in a debug build: --budget auto must then double the
        // budgets of both ends' later connections, and an exact --budget 64 must not. Once
        // doubled twice, the path counts as fast and payloads are cut up to 64 KiB.
        @Test(
            "--budget auto scales both ends' budgets and payloads on a fast link; an exact --budget does neither",
            .timeLimit(.minutes(2)))
        func budgetScalesOnFastLink() async throws {
            let bytes = 32 * Size.mebibyte
            let exact = try await self.transfer(
                sessions: 1, bytes: bytes, flags: Self.eventDriven + ["--conns", "1", "--budget", "64"])
            let auto = try await self.transfer(sessions: 1, bytes: bytes, flags: Self.eventDriven + ["--conns", "1"])
            // 32 MiB each way in 64-payload budgets of 10,000 bytes is at least 52 connections;
            // with the budgets doubling (64, 128, ... 2048 payloads) and the payloads growing,
            // a handful carry it. The bound leaves room for a loaded machine delaying some doublings.
            #expect(exact.connections >= 50, "fling connections opened with --budget 64: \(exact.connections)")
            #expect(
                auto.connections <= exact.connections / 2,
                "fling connections opened with --budget auto: \(auto.connections), with --budget 64: \(exact.connections)"
            )
            // Payloads of --frags (10,000 bytes) with an exact budget; with auto, once doubled
            // twice (after about 2 MB), the rest of each read up to 64 KiB (742 payloads, 45 kB on
            // average, in a debug build on an idle machine).
            #expect(exact.bytesSent == bytes && exact.payloadsSent >= bytes / 10_000, "--budget 64: \(exact)")
            #expect(
                auto.bytesSent == bytes && auto.payloadsSent <= exact.payloadsSent / 2,
                "--budget auto: \(auto); --budget 64: \(exact)")
        }

        /// What the client's status report said after a transfer.
        struct ClientFigures: CustomStringConvertible {
            var connections: Int
            var payloadsSent: Int
            var bytesSent: Int
            var description: String {
                "\(self.bytesSent) bytes in \(self.payloadsSent) payloads on \(self.connections) fling connections"
            }
        }

        /// Starts a tunnel with `flags` on both ends in front of an in-process echo service and
        /// probes `sessions` concurrent sessions of `bytes` each; returns the fling connections
        /// the client opened and the payloads and bytes it sent, from its status report.
        @discardableResult
        private func transfer(
            sessions: Int,
            bytes: Int,
            flags: [String],
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws -> ClientFigures {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses(sourceLocation: sourceLocation) { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: flags)
                        let mismatches = await probeMismatches(
                            port: tunnel.listenPort,
                            sessions: sessions,
                            bytes: bytes,
                            timeout: .seconds(45),
                            group: group
                        )
                        #expect(
                            mismatches.isEmpty,
                            "\(mismatches.count) of \(sessions) sessions not byte-exact:\n\(mismatches.joined(separator: "\n"))\n\(scope.diagnostics)",
                            sourceLocation: sourceLocation
                        )
                        // Every session ends in order on both ends: none cut short.
                        for end in [tunnel.client.process, tunnel.server.process] {
                            try await end.logLines(containing: "session closed", count: sessions, timeout: .seconds(10))
                            #expect(
                                end.standardError.count(of: "session aborted") == 0,
                                "\(end.diagnostics)",
                                sourceLocation: sourceLocation
                            )
                        }
                        let status = try await StatusBlock.request(from: tunnel.client.process, number: 1)
                        return ClientFigures(
                            connections: try status.connectionsOpened("fling"),
                            payloadsSent: try status.payloads("sent"),
                            bytesSent: try status.bytes("sent")
                        )
                    }
                }
            }
        }
    }
}
