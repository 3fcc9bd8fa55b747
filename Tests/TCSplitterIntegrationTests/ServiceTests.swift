import Foundation
import NIOCore
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// Running an end like a service: the status report, Prometheus metrics, graceful shutdown.
    @Suite("Running as a service")
    struct ServiceTests {
        /// Bytes a held session echoes before and after the end is told to stop.
        static let primer = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        static let rest = (0..<(256 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }

        @Test(
            "SIGUSR1 prints a status block on each end whose byte counters match the transfer", .timeLimit(.minutes(1)))
        func statusReportMatchesTransfer() async throws {
            let bytes = 3 * Size.mebibyte
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort)
                        let mismatches = await probeMismatches(
                            port: tunnel.listenPort, sessions: 1, bytes: bytes, timeout: .seconds(30), group: group
                        )
                        #expect(mismatches.isEmpty, "\(mismatches)\n\(scope.diagnostics)")
                        for end in [tunnel.client.process, tunnel.server.process] {
                            _ = try await end.logLine(containing: "session closed", timeout: .seconds(10))
                            let block = try await StatusBlock.request(from: end, number: 1)
                            // Through an echo service every byte goes both ways, on both ends.
                            #expect(try block.bytes("sent") == bytes, "\(block.lines)")
                            #expect(try block.bytes("received") == bytes, "\(block.lines)")
                            #expect(
                                block.lines["sessions"] == "0 open, 1 opened, 1 closed, 0 aborted; ended: closed 1",
                                "\(block.lines)")
                            #expect(
                                block.lines["connections"]?.contains("sync 1 open, 1 opened") == true, "\(block.lines)")
                            #expect(block.lines["heading"]?.hasPrefix("\(end.name),") == true, "\(block.lines)")
                        }
                        // A second report: the totals stand, the rates are since the first.
                        let again = try await StatusBlock.request(from: tunnel.client.process, number: 2)
                        #expect(try again.bytes("sent") == bytes)
                        #expect(again.lines["sent"]?.hasSuffix("goodput 0 B/s") == true, "\(again.lines)")
                    }
                }
            }
        }

        @Test(
            "/metrics scraped during a transfer parses as Prometheus text and its counters grow",
            .timeLimit(.minutes(1)))
        func metricsGrowDuringTransfer() async throws {
            let bytes = 64 * Size.mebibyte
            let sent = "tcsplitter_stream_bytes_total{direction=\"sent\"}"
            let received = "tcsplitter_stream_bytes_total{direction=\"received\"}"
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let server = try await scope.startServer(forwardPort: echoPort)
                        let client = try await scope.startClient(
                            flingPort: server.flingPort, syncPort: server.syncPort, flags: ["--metrics", "127.0.0.1:0"]
                        )
                        let metricsPort = try SplitterProcess.port("metrics", in: try await client.process.ready())
                        let idle = try await MetricsScrape.fetch(port: metricsPort)
                        #expect(idle[sent] == 0 && idle["tcsplitter_connections_open{kind=\"sync\"}"] == 1, "\(idle)")
                        let transfer = Task {
                            await probeMismatches(
                                port: client.listenPort, sessions: 1, bytes: bytes, timeout: .seconds(45), group: group
                            )
                        }
                        // Polled: bytes flowing is not an event the harness can await.
                        let first = try await Self.scrape(port: metricsPort, until: { ($0[sent] ?? 0) > 0 })
                        let second = try await Self.scrape(port: metricsPort, until: { ($0[sent] ?? 0) > first[sent]! })
                        #expect(Double(bytes) > first[sent]!, "the first scrape came after the transfer: \(first)")
                        #expect(
                            second["tcsplitter_payloads_total{direction=\"sent\"}"]! > first[
                                "tcsplitter_payloads_total{direction=\"sent\"}"]!)
                        #expect(second["tcsplitter_sessions_open"] == 1, "\(second)")
                        let mismatches = await transfer.value
                        #expect(mismatches.isEmpty, "\(mismatches)\n\(scope.diagnostics)")
                        _ = try await client.process.logLine(containing: "session closed", timeout: .seconds(10))
                        let last = try await MetricsScrape.fetch(port: metricsPort)
                        #expect(last[sent] == Double(bytes) && last[received] == Double(bytes), "\(last)")
                        #expect(last["tcsplitter_sessions_ended_total{outcome=\"closed\"}"] == 1, "\(last)")
                        #expect(last["tcsplitter_sessions_ended_by_reason_total{reason=\"closed\"}"] == 1, "\(last)")
                        #expect(
                            last["tcsplitter_sessions_ended_by_reason_total{reason=\"reset_by_peer\"}"] == 0, "\(last)")
                        #expect(last["tcsplitter_sessions_open"] == 0, "\(last)")
                    }
                }
            }
        }

        /// Scrapes every 20 ms until `done` holds for a scrape (at most 10 s).
        private static func scrape(port: Int, until done: ([String: Double]) -> Bool) async throws -> [String: Double] {
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                let samples = try await MetricsScrape.fetch(port: port)
                if done(samples) { return samples }
                guard ContinuousClock.now < deadline else { throw HarnessError("metrics never got there: \(samples)") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// Which end a shutdown test stops.
        enum Stopped: String, CaseIterable, Sendable {
            case client, server
        }

        @Test(
            "SIGTERM in the middle of a session lets it finish within the grace period, takes no new session, and exits 0",
            .timeLimit(.minutes(1)),
            arguments: Stopped.allCases
        )
        func sigtermDrains(stopped: Stopped) async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: echoPort, flags: ["--grace-period", "20"])
                        let end = stopped == .client ? tunnel.client.process : tunnel.server.process
                        let held = try await Self.openHeldSession(port: tunnel.listenPort)
                        let started = ContinuousClock.now
                        end.send(signal: SIGTERM)
                        _ = try await end.logLine(
                            containing: "no new sessions; 1 open session(s)", timeout: .seconds(10))
                        switch stopped {
                        case .client:
                            #expect(throws: HarnessError.self, "the client still accepts") {
                                _ = try PlainSocket.dial(port: tunnel.listenPort)
                            }
                        case .server:
                            let refused = try await PlainSocket.exchange(
                                port: tunnel.listenPort, request: [1, 2, 3], shutWriteSide: false, timeout: .seconds(10)
                            )
                            #expect(refused.reply.isEmpty && refused.ending != .timedOut, "a new session was served")
                            _ = try await tunnel.client.process.logLine(
                                containing: "the server is shutting down", timeout: .seconds(10))
                        }
                        try await held.send(Self.rest)
                        try held.shutWriteSide()
                        let echo = try await held.readToEnd(timeout: .seconds(20))
                        #expect(
                            echo.reply == Self.rest,
                            "\(echo.reply.count) of \(Self.rest.count) bytes\n\(scope.diagnostics)")
                        #expect(echo.ending == .endOfFile)
                        let exit = await end.waitForExit(timeout: .seconds(20))
                        #expect(exit == .exited(0), "\(exit.map { "\($0)" } ?? "still running")\n\(end.diagnostics)")
                        #expect(ContinuousClock.now - started < .seconds(20), "not within the grace period")
                        _ = try await end.logLine(containing: "drained: 1 session(s) finished", timeout: .seconds(5))
                        #expect(end.standardError.count(of: "session aborted") == 0, "\(end.diagnostics)")
                    }
                }
            }
        }

        @Test(
            "A session still open when the grace period ends is aborted, and the end exits 0", .timeLimit(.minutes(1)))
        func gracePeriodEnds() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: ["--grace-period", "1"])
                        let held = try await Self.openHeldSession(port: tunnel.listenPort)
                        let client = tunnel.client.process
                        client.send(signal: SIGTERM)
                        let exit = await client.waitForExit(timeout: .seconds(15))
                        #expect(exit == .exited(0), "\(exit.map { "\($0)" } ?? "still running")\n\(client.diagnostics)")
                        _ = try await client.logLine(
                            containing: "grace period of 1 s over: aborting 1 open session(s)", timeout: .seconds(5))
                        let end = try await held.readToEnd(timeout: .seconds(10))
                        #expect(
                            end.ending != .timedOut && end.ending != .endOfFile,
                            "the held connection ended with \(end.ending), not a reset")
                        _ = try await tunnel.server.process.logLine(
                            containing: "session reset by the peer", timeout: .seconds(10))
                    }
                }
            }
        }

        @Test("A second SIGINT during the drain stops the end at once, with status 130", .timeLimit(.minutes(1)))
        func secondInterruptStopsAtOnce() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    // The client's status is checked below (130, not a clean 0); the server's too.
                    try await withProcesses(expectCleanStop: false) { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: echoPort, flags: ["--grace-period", "60"])
                        let held = try await Self.openHeldSession(port: tunnel.listenPort)
                        let client = tunnel.client.process
                        client.send(signal: SIGINT)
                        _ = try await client.logLine(
                            containing: "no new sessions; 1 open session(s)", timeout: .seconds(10))
                        #expect(
                            await client.waitForExit(timeout: .milliseconds(300)) == nil,
                            "one SIGINT must drain, not exit")
                        let second = ContinuousClock.now
                        client.send(signal: SIGINT)
                        let exit = await client.waitForExit(timeout: .seconds(5))
                        #expect(
                            exit == .exited(130), "\(exit.map { "\($0)" } ?? "still running")\n\(client.diagnostics)")
                        #expect(ContinuousClock.now - second < .seconds(3))
                        _ = try await client.logLine(containing: "second SIGINT", timeout: .seconds(5))
                        let end = try await held.readToEnd(timeout: .seconds(10))
                        #expect(end.ending != .timedOut, "the held connection stayed open")
                        #expect(
                            await tunnel.server.process.stop() == .exited(0), "\(tunnel.server.process.diagnostics)")
                    }
                }
            }
        }

        @Test("--version prints the version and exits 0", .timeLimit(.minutes(1)))
        func version() async throws {
            try await withProcesses(expectCleanStop: false) { scope in
                let process = try scope.launch("tcsplitter", ["--version"])
                #expect(await process.waitForExit(timeout: .seconds(10)) == .exited(0))
                let line = try await process.standardOutput.line(containing: ".", timeout: .seconds(5))
                #expect(
                    line.split(separator: ".").count == 3
                        && line.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" || $0.isLetter }, "\(line)")
            }
        }

        /// Opens a session through the client at `port` and waits for the primer's echo, so it is
        /// open end to end.
        private static func openHeldSession(port: Int) async throws -> HeldConnection {
            let held = try await HeldConnection.open(port: port)
            try await held.send(Self.primer)
            let echo = try await held.receive(count: Self.primer.count, timeout: .seconds(10))
            guard echo.reply == Self.primer else {
                throw HarnessError("the primer came back as \(echo.reply.count) bytes, then \(echo.ending)")
            }
            return held
        }
    }
}
