import Logging
import NIOCore
import NIOEmbedded
import TCSplitterCore

@testable import TCSplitterNIO

/// Both tunnel ends in one process, back to back, with no sockets and no threads: a client
/// `TunnelLink` and a server `TunnelLink` on one `EmbeddedEventLoop`, joined by a sync connection
/// and data connections (each a pair of `EmbeddedChannel`s running the real connection handlers;
/// `pump()` moves each side's written bytes to the other), and sessions whose local sockets are
/// `EmbeddedChannel`s the test writes into and reads from. Time moves only when the test
/// advances it, so a session's whole life (open, half-closes, resets, retries, FEC) runs in
/// milliseconds and the same way every time.
final class InMemoryTunnel {
    let loop = EmbeddedEventLoop()
    let client: TunnelLink
    let server: TunnelLink
    private let clientEnd: InMemoryEnd
    private let serverEnd: InMemoryEnd
    /// Every connection, as (client side, server side).
    private(set) var connections: [(client: EmbeddedChannel, server: EmbeddedChannel)] = []
    /// Data connection pairs whose bytes from the client are dropped instead of delivered (a
    /// connection that black-holes), by index into `connections`.
    var blackHoled: Set<Int> = []
    private let clientID = ClientID(rawValue: 42)
    private let configuration: TunnelConfiguration

    /// Ends configured by `configure` (a client configuration; the server's follows it), joined
    /// by a sync connection and `dataConnections` fling connections.
    init(dataConnections: Int = 2, configure: (inout TunnelConfiguration) -> Void = { _ in }) throws {
        var configuration = TunnelConfiguration(role: .client)
        configuration.payloadsPerConnection = 1_000_000
        configuration.scalesBudget = false
        configuration.idleTimeout = .seconds(3600)
        configure(&configuration)
        self.configuration = configuration
        var serverConfiguration = configuration
        serverConfiguration.role = .server
        var logger = Logger(label: "in-memory")
        logger.logLevel = .critical
        self.client = TunnelLink(eventLoop: self.loop, configuration: configuration, logger: logger, isClient: true)
        self.server = TunnelLink(
            eventLoop: self.loop, configuration: serverConfiguration, logger: logger, isClient: false)
        self.clientEnd = InMemoryEnd(link: self.client, loop: self.loop)
        self.serverEnd = InMemoryEnd(link: self.server, loop: self.loop)
        try self.connect(.sync)
        for _ in 0..<dataConnections { try self.connect(.fling) }
        self.pump()
    }

    /// Dials one more connection of `kind` and completes its hello.
    func connect(_ kind: ConnectionKind) throws {
        let limits = self.configuration.frameLimits
        let logger = self.client.logger
        let dialer = TunnelConnectionHandler(
            side: .dialer(kind, self.clientID), payloadBudget: self.configuration.payloadsPerConnection,
            helloTimeout: .seconds(5), delegate: self.clientEnd, logger: logger, badInput: RateLimitedLog())
        let acceptor = TunnelConnectionHandler(
            side: .acceptor, payloadBudget: self.configuration.payloadsPerConnection, helloTimeout: .seconds(5),
            delegate: self.serverEnd, logger: logger, badInput: RateLimitedLog())
        let clientChannel = EmbeddedChannel(loop: self.loop)
        let serverChannel = EmbeddedChannel(loop: self.loop)
        try TunnelBootstraps.addTunnelHandlers(to: clientChannel, handler: dialer, limits: limits)
        try TunnelBootstraps.addTunnelHandlers(to: serverChannel, handler: acceptor, limits: limits)
        self.connections.append((clientChannel, serverChannel))
        try serverChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try clientChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        self.pump()
    }

    /// Moves written bytes across every connection, and runs what the event loop has queued,
    /// until nothing moves.
    func pump() {
        var moved = true
        while moved {
            moved = false
            self.loop.run()
            for (index, pair) in self.connections.enumerated() {
                moved = Self.move(from: pair.client, to: pair.server, drop: self.blackHoled.contains(index)) || moved
                moved = Self.move(from: pair.server, to: pair.client, drop: false) || moved
            }
        }
    }

    /// Moves time on by `amount` in `step`s, pumping after each (timers fire on the way).
    func advance(by amount: TimeAmount, step: TimeAmount = .milliseconds(10)) {
        var left = amount
        while left > .zero {
            let next = min(step, left)
            self.loop.advanceTime(by: next)
            self.pump()
            left = left - next
        }
    }

    /// Runs the ends' housekeeping (retries, stalls, acknowledgement probes) at the loop's time.
    func housekeeping() {
        self.client.housekeeping(now: self.loop.now, idleLimit: .seconds(3600))
        self.server.housekeeping(now: self.loop.now, idleLimit: .seconds(3600))
        self.pump()
    }

    /// Closes data connection `index` abruptly on both sides (its bytes in flight are lost).
    func breakConnection(_ index: Int) {
        let pair = self.connections[index]
        while (try? pair.client.readOutbound(as: ByteBuffer.self)) != nil {}
        _ = try? pair.client.close().wait()
        _ = try? pair.server.close().wait()
        self.pump()
    }

    /// Opens a session from a new local connection on the client; the server's side connects to
    /// its own in-memory local socket when the `open` arrives.
    func openSession() throws -> InMemorySession {
        let local = InMemoryLocalSocket(loop: self.loop)
        guard let configuration = self.client.newSessionConfiguration() else {
            throw InMemoryTunnelError.sessionRefused
        }
        let session = TunnelSession(
            id: SessionID.random(), link: self.client, configuration: configuration, logger: self.client.logger,
            now: self.loop.now)
        try local.attach(to: session)
        self.client.add(session)
        self.client.sendControl(session.openRequest)
        self.pump()
        guard let peer = self.server.sessions[session.id], let peerLocal = self.serverEnd.locals[session.id] else {
            throw InMemoryTunnelError.sessionRefused
        }
        return InMemorySession(client: session, clientLocal: local, server: peer, serverLocal: peerLocal)
    }

    private static func move(from source: EmbeddedChannel, to target: EmbeddedChannel, drop: Bool) -> Bool {
        var moved = false
        while let buffer = try? source.readOutbound(as: ByteBuffer.self) {
            moved = true
            guard !drop, target.isActive else { continue }
            _ = try? target.writeInbound(buffer)
        }
        return moved
    }
}

/// Why the in-memory tunnel could not do what a test asked.
enum InMemoryTunnelError: Error {
    case sessionRefused
}

/// One session's two halves and their local sockets.
struct InMemorySession {
    let client: TunnelSession
    let clientLocal: InMemoryLocalSocket
    let server: TunnelSession
    let serverLocal: InMemoryLocalSocket
}

/// A session's local socket: bytes the application writes go in with `write`, its end of input
/// with `shutInput`; what the tunnel wrote, and whether it shut the output, is recorded.
final class InMemoryLocalSocket {
    let channel: EmbeddedChannel
    private let recorder = HalfCloseRecorder()

    init(loop: EmbeddedEventLoop) {
        self.channel = EmbeddedChannel(loop: loop)
    }

    /// Puts the session's handler on the socket, binds it, and activates it.
    func attach(to session: TunnelSession) throws {
        try self.channel.pipeline.syncOperations.addHandlers([self.recorder, LocalStreamHandler(session: session)])
        session.attach(localChannel: self.channel)
        try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 3)).wait()
    }

    /// The application writes `bytes`.
    func write(_ bytes: ByteBuffer) throws {
        try self.channel.writeInbound(bytes)
    }

    /// The application shuts its output (EOF toward the tunnel).
    func shutInput() {
        self.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }

    /// Every byte the tunnel wrote to the application so far (taken).
    func received() -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try? self.channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// Whether the tunnel shut the socket's output (the peer's direction ended).
    var outputShut: Bool { self.recorder.outputShut }
}

/// Takes a `close(mode: .output)` and records it: `EmbeddedChannel` would close both ways.
private final class HalfCloseRecorder: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var outputShut = false

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            context.close(mode: mode, promise: promise)
            return
        }
        self.outputShut = true
        promise?.succeed(())
    }
}

/// What an end does with its connections' events, cut down to what the tests need: sync and data
/// connections join the link, frames go to it, and (server) an `open` starts a session whose
/// local socket is in memory.
private final class InMemoryEnd: TunnelConnectionDelegate {
    unowned let link: TunnelLink
    /// The loop the link runs on, for the local sockets of the sessions it opens.
    let loop: EmbeddedEventLoop
    /// The server's sessions' local sockets, by session.
    var locals: [SessionID: InMemoryLocalSocket] = [:]

    init(link: TunnelLink, loop: EmbeddedEventLoop) {
        self.link = link
        self.loop = loop
    }

    func connectionReady(_ connection: TunnelConnectionHandler, hello: ClientHello?) {
        if connection.kind == .sync {
            self.link.attachSync(connection)
        } else {
            self.link.dataConnectionReady(connection)
        }
    }

    func connection(_ connection: TunnelConnectionHandler, received payload: PayloadFrame) {
        self.link.received(payload: payload)
    }

    func connection(_ connection: TunnelConnectionHandler, received message: ControlMessage) {
        switch message {
        case .open(let id, let windowBytes), .openTo(let id, _, let windowBytes):
            self.open(id, windowBytes: Int(windowBytes))
        default:
            self.link.route(message)
        }
    }

    private func open(_ id: SessionID, windowBytes: Int) {
        guard self.link.sessions[id] == nil else { return }
        var configuration = self.link.configuration
        if windowBytes > 0 { configuration.windowBytes = windowBytes }
        let session = TunnelSession(
            id: id, link: self.link, configuration: configuration, logger: self.link.logger,
            now: self.loop.now)
        let local = InMemoryLocalSocket(loop: self.loop)
        self.locals[id] = local
        self.link.add(session)
        try? local.attach(to: session)
        self.link.sendControl(.opened(id))
        session.open()
    }

    func connectionNearlySpent(_ connection: TunnelConnectionHandler) {}
    func connectionAvailabilityChanged(_ connection: TunnelConnectionHandler) { self.link.dispatcher.drain() }
    func connectionRetired(_ connection: TunnelConnectionHandler) { self.link.dataConnectionRetired(connection) }
    func connectionClosed(_ connection: TunnelConnectionHandler) {
        if connection.kind == .sync {
            self.link.syncClosed(connection)
        } else {
            self.link.dataConnectionClosed(connection)
        }
    }
    func connection(_ connection: TunnelConnectionHandler, disagrees mismatches: [TunnelAgreement.Mismatch]) {}
}
