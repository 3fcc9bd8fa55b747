import NIOCore
import TCSplitterCore
import TCSplitterTestSupport
import Testing

@testable import TCSplitterNIO

/// Whole sessions through both real ends, back to back in memory (`InMemoryTunnel`): the open,
/// bytes each way, the half-closes and the clean end, resets, retries over a broken or
/// black-holed connection, and FEC rebuilding a lost payload. No sockets, no processes, no
/// sleeping: time is the embedded event loop's.
@Suite struct InMemorySessionTests {
    /// Moves time on `seconds` with housekeeping every 20 ms, until `done` holds.
    static func run(_ tunnel: InMemoryTunnel, seconds: Int64, until done: () -> Bool) {
        for _ in 0..<(seconds * 50) where !done() {
            tunnel.advance(by: .milliseconds(20))
            tunnel.housekeeping()
        }
    }

    /// Whether `bytes` are exactly the `count` stream bytes from `offset` (a plain Bool, so a
    /// failure does not print megabytes).
    static func isStream(_ bytes: [UInt8], offset: Int, count: Int) -> Bool {
        bytes.count == count && bytes == ByteBuffer.stream(offset: offset, count: count).bytes
    }

    /// `count` stream bytes from `offset`, written to `socket` in writes of `chunk`.
    static func write(_ socket: InMemoryLocalSocket, count: Int, chunk: Int = 4096, offset: Int = 0) throws {
        var sent = 0
        while sent < count {
            let size = min(chunk, count - sent)
            try socket.write(.stream(offset: offset + sent, count: size))
            sent += size
        }
    }

    @Test("bytes each way arrive byte-exact, each half-close shuts the peer's output, and both halves end closed")
    func cleanSession() throws {
        let tunnel = try InMemoryTunnel()
        let session = try tunnel.openSession()
        #expect(session.client.phase == .open && session.server.phase == .open)
        try Self.write(session.clientLocal, count: 300_000)
        try Self.write(session.serverLocal, count: 120_000, offset: 7)
        var atServer: [UInt8] = []
        var atClient: [UInt8] = []
        Self.run(tunnel, seconds: 5) {
            atServer += session.serverLocal.received()
            atClient += session.clientLocal.received()
            return atServer.count == 300_000 && atClient.count == 120_000
        }
        #expect(Self.isStream(atServer, offset: 0, count: 300_000), "\(atServer.count) bytes; byte-exact?")
        #expect(Self.isStream(atClient, offset: 7, count: 120_000), "\(atClient.count) bytes; byte-exact?")

        session.clientLocal.shutInput()
        Self.run(tunnel, seconds: 2) { session.serverLocal.outputShut }
        #expect(session.serverLocal.outputShut, "the client's EOF reaches the server's application")
        #expect(!session.clientLocal.outputShut, "the other direction is still open")
        #expect(session.server.lifecycle.stage == .receivingClosed)
        #expect(session.client.lifecycle.stage == .sendingClosed)

        // The half-open direction still carries bytes.
        try Self.write(session.serverLocal, count: 5000, offset: 9)
        Self.run(tunnel, seconds: 2) {
            atClient += session.clientLocal.received()
            return atClient.count == 125_000
        }
        #expect(Self.isStream(Array(atClient.suffix(5000)), offset: 9, count: 5000), "byte-exact")

        session.serverLocal.shutInput()
        Self.run(tunnel, seconds: 2) { session.client.isEnded && session.server.isEnded }
        #expect(session.client.lifecycle.endReason == .closed)
        #expect(session.server.lifecycle.endReason == .closed)
        #expect(session.clientLocal.outputShut)
        #expect(tunnel.client.sessions.isEmpty && tunnel.server.sessions.isEmpty)
        #expect(tunnel.client.counters.values.sessionsEnded[.closed] == 1)
        #expect(tunnel.server.counters.values.sessionsEnded[.closed] == 1)
    }

    @Test("an abort on one end sends a reset: the peer's half ends reset by the peer and resets its local socket")
    func resetCrossesTheTunnel() throws {
        let tunnel = try InMemoryTunnel()
        let session = try tunnel.openSession()
        try Self.write(session.clientLocal, count: 10_000)
        tunnel.advance(by: .milliseconds(100))
        session.client.abort(.localFailed("the application vanished"), notifyPeer: true)
        tunnel.pump()
        #expect(session.client.lifecycle.stage == .reset)
        #expect(session.server.lifecycle.endReason == .resetByPeer("the application vanished"))
        #expect(!session.serverLocal.channel.isActive, "the server's local socket is closed")
        #expect(tunnel.server.counters.values.sessionsEnded[.resetByPeer] == 1)
        #expect(tunnel.client.counters.values.sessionsEnded[.localFailed] == 1)
    }

    @Test("with retries (the default), a data connection that breaks mid-stream loses nothing")
    func brokenConnectionIsResent() throws {
        let tunnel = try InMemoryTunnel(dataConnections: 3)
        let session = try tunnel.openSession()
        tunnel.blackHoled = [1]  // connection 0 is the sync connection
        try Self.write(session.clientLocal, count: 200_000)
        tunnel.pump()
        tunnel.breakConnection(1)
        var atServer: [UInt8] = []
        Self.run(tunnel, seconds: 5) {
            atServer += session.serverLocal.received()
            return atServer.count == 200_000
        }
        #expect(Self.isStream(atServer, offset: 0, count: 200_000), "\(atServer.count) bytes; byte-exact?")
        #expect(tunnel.client.counters.values.payloadsResent > 0, "what the broken connection carried was resent")
    }

    @Test("with retries, payloads a live connection swallows are asked for again and resent once overdue")
    func blackHoleIsResent() throws {
        let tunnel = try InMemoryTunnel(dataConnections: 2)
        let session = try tunnel.openSession()
        tunnel.blackHoled = [1]
        try Self.write(session.clientLocal, count: 100_000)
        var atServer: [UInt8] = []
        Self.run(tunnel, seconds: 10) {
            atServer += session.serverLocal.received()
            return atServer.count == 100_000
        }
        #expect(Self.isStream(atServer, offset: 0, count: 100_000), "\(atServer.count) bytes; byte-exact?")
        #expect(tunnel.server.counters.values.resendRequests > 0)
        #expect(tunnel.client.counters.values.payloadsResent > 0)
    }

    @Test("with FEC and no retries, a payload lost with its connection is rebuilt from parity")
    func fecRebuilds() throws {
        let tunnel = try InMemoryTunnel(dataConnections: 4) {
            $0.fecDataShards = 3
            $0.fecParityShards = 1
            $0.retries = false
        }
        let session = try tunnel.openSession()
        tunnel.blackHoled = [2]
        try Self.write(session.clientLocal, count: 30_000, chunk: 30_000)
        var atServer: [UInt8] = []
        Self.run(tunnel, seconds: 2) {
            atServer += session.serverLocal.received()
            return atServer.count == 30_000
        }
        #expect(Self.isStream(atServer, offset: 0, count: 30_000), "\(atServer.count) bytes; byte-exact?")
        #expect((session.server.fecCollector?.rebuiltGroups ?? 0) > 0, "a group was rebuilt")
        #expect(tunnel.client.counters.values.payloadsResent == 0)
    }

    @Test("without retries or FEC, a swallowed payload stalls the session, which ends naming the missing bytes")
    func stallWithoutRecovery() throws {
        let tunnel = try InMemoryTunnel(dataConnections: 2) {
            $0.retries = false
            $0.stallTimeout = .seconds(2)
        }
        let session = try tunnel.openSession()
        tunnel.blackHoled = [1]
        try Self.write(session.clientLocal, count: 50_000)
        Self.run(tunnel, seconds: 5) { session.server.isEnded }
        guard case .stalled(let detail) = session.server.lifecycle.endReason else {
            Issue.record("ended \(String(describing: session.server.lifecycle.endReason)), not stalled")
            return
        }
        #expect(detail.contains("did not arrive within 2000 ms"))
        #expect(session.client.lifecycle.endReason.map { $0.kind == .resetByPeer } == true)
    }
}
