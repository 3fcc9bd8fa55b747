import NIOCore
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// How sessions begin and end: half-close, an unreachable service, a late server.
    @Suite("Session lifecycle")
    struct SessionLifecycleTests {
        /// 100 bytes, then the write side shut, then the whole echo and EOF must come back.
        static let request = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

        // The `printf data | nc -N` case: the request and its half-close reach the client end
        // before the server has opened the session.
        @Test(
            "A client that sends 100 bytes and at once shuts its write side gets the whole echo, then EOF",
            .timeLimit(.minutes(1))
        )
        func immediateHalfCloseDeliversTheWholeReply() async throws {
            try await self.halfClose(primer: [])
        }

        // The same once the session is known to be open: one byte is echoed first.
        @Test("A client that half-closes an open session gets the whole echo, then EOF", .timeLimit(.minutes(1)))
        func halfCloseOfAnOpenSessionDeliversTheWholeReply() async throws {
            try await self.halfClose(primer: Array(Self.request.prefix(1)))
        }

        /// Writes `primer` and awaits its echo (if any), then the rest of `request`, half-closes,
        /// and expects exactly `request` back, then EOF (not a reset, not a hang).
        private func halfClose(primer: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses(sourceLocation: sourceLocation) { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort)
                        let exchange = try await PlainSocket.exchange(
                            port: tunnel.listenPort,
                            primer: primer,
                            request: Array(Self.request.dropFirst(primer.count)),
                            shutWriteSide: true,
                            timeout: .seconds(10)
                        )
                        #expect(
                            exchange.reply == Self.request,
                            "reply of \(exchange.reply.count) of \(Self.request.count) bytes, then \(exchange.ending)\n\(scope.diagnostics)",
                            sourceLocation: sourceLocation
                        )
                        #expect(exchange.ending == .endOfFile, sourceLocation: sourceLocation)
                    }
                }
            }
        }

        @Test(
            "A session whose service refuses the connection is closed promptly, and the server says why",
            .timeLimit(.minutes(1))
        )
        func unreachableServiceClosesTheSession() async throws {
            try await withProcesses { scope in
                // A port that was free a moment ago: nothing listens there.
                let refusingPort = try PlainSocket.reservePorts(1)[0]
                let tunnel = try await scope.startTunnel(forwardPort: refusingPort)
                let started = ContinuousClock.now
                let exchange = try await PlainSocket.exchange(
                    port: tunnel.listenPort,
                    request: Array("hello?".utf8),
                    shutWriteSide: false,
                    timeout: .seconds(15)
                )
                let elapsed = ContinuousClock.now - started
                #expect(exchange.ending != .timedOut, "the local connection stayed open for 15 s\n\(scope.diagnostics)")
                #expect(exchange.reply.isEmpty)
                #expect(elapsed < .seconds(10), "closed after \(elapsed)")
                let line = try await tunnel.server.process.logLine(
                    containing: "cannot reach the forward address",
                    timeout: .seconds(10)
                )
                #expect(line.contains("127.0.0.1:\(refusingPort)"), "the warning names the address: \(line)")
            }
        }

        @Test(
            "A client started before its server connects once the server is up, and carries data",
            .timeLimit(.minutes(1))
        )
        func clientStartedBeforeTheServer() async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        let ports = try PlainSocket.reservePorts(2)
                        let client = try await scope.startClient(flingPort: ports[0], syncPort: ports[1])
                        // The client is up and retrying; only now does its server appear.
                        _ = try await scope.startServer(forwardPort: echoPort, flingPort: ports[0], syncPort: ports[1])
                        _ = try await client.process.logLine(
                            containing: "connected to the server",
                            timeout: .seconds(15)
                        )
                        let mismatches = await probeMismatches(
                            port: client.listenPort,
                            sessions: 1,
                            bytes: Size.mebibyte,
                            timeout: .seconds(30),
                            group: group
                        )
                        #expect(mismatches.isEmpty, "\(mismatches)\n\(scope.diagnostics)")
                    }
                }
            }
        }
    }
}
