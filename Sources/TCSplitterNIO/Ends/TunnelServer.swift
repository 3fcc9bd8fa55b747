import Logging
import NIOCore
import NIOPosix
import TCSplitterCore

/// The server end: accepts the clients' sync and data connections on `--lSync` / `--lFling` (and
/// lasso connections on `--lLasso` when set, else on `--lFling`), dials `--forward` once per
/// session, and never dials a client. What it sends on each data connection follows the dup mode
/// the client declared in the connection's hello. Each client end (by the id in
/// its hellos) has its own `TunnelLink`, so a session's data only travels on its own client's
/// connections. Everything runs on one event loop.
public final class TunnelServer: @unchecked Sendable {
    // @unchecked: every stored property is only touched on `eventLoop`.
    /// The addresses the server bound.
    public struct BoundAddresses: Sendable {
        /// Where data connections are accepted.
        public var fling: SocketAddress
        /// Where sync connections are accepted.
        public var sync: SocketAddress
        /// Where lasso connections are accepted, when `--lLasso` is set (else on `fling`).
        public var lasso: SocketAddress?
    }

    let configuration: TunnelConfiguration
    /// The pre-shared key, when the tunnel has one.
    private let key: PreSharedKey?
    let eventLoop: EventLoop
    let logger: Logger
    let badInput = RateLimitedLog()
    /// The running totals of every link.
    let counters = EndCounters()
    private(set) var links: [ClientID: TunnelLink] = [:]
    private var linkSince: [ClientID: NIODeadline] = [:]
    private var listeners: [Channel] = []
    private var housekeepingTask: RepeatingLoopTask?
    private var sessionCount = 0
    private var pendingHellos = 0
    var stopped = false
    fileprivate var random = SystemRandomNumberGenerator()

    /// A server end that will run on `eventLoop`.
    public init(configuration: TunnelConfiguration, eventLoop: EventLoop, logger: Logger, key: PreSharedKey? = nil) {
        self.key = key
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Binds `--lFling` and `--lSync`. Returns the bound addresses.
    public func start() -> EventLoopFuture<BoundAddresses> {
        self.eventLoop.flatSubmit { self.startOnLoop() }
    }

    private func startOnLoop() -> EventLoopFuture<BoundAddresses> {
        guard let fling = self.configuration.localFling, let sync = self.configuration.localSync else {
            return self.eventLoop.makeFailedFuture(ConfigurationError(flag: "--lFling", "missing"))
        }
        let bound = NIOLoopBound(self, eventLoop: self.eventLoop)
        let flingFuture = self.makeListener().bind(host: fling.bindHost, port: fling.port)
        return flingFuture.flatMap { flingChannel in
            bound.value.listeners.append(flingChannel)
            return bound.value.makeListener().bind(host: sync.bindHost, port: sync.port).map { syncChannel in
                bound.value.listeners.append(syncChannel)
                return BoundAddresses(fling: flingChannel.localAddress!, sync: syncChannel.localAddress!)
            }
        }.flatMap { (addresses: BoundAddresses) -> EventLoopFuture<BoundAddresses> in
            guard let lasso = bound.value.configuration.localLasso else {
                return bound.value.eventLoop.makeSucceededFuture(addresses)
            }
            return bound.value.makeListener().bind(host: lasso.bindHost, port: lasso.port).map { lassoChannel in
                bound.value.listeners.append(lassoChannel)
                var addresses = addresses
                addresses.lasso = lassoChannel.localAddress
                return addresses
            }
        }.map { addresses in
            let server = bound.value
            server.housekeepingTask = RepeatingLoopTask(
                eventLoop: server.eventLoop,
                interval: server.configuration.housekeepingInterval
            ) { [unowned server] in server.housekeeping() }
            return addresses
        }.flatMapErrorThrowing { error in
            for listener in bound.value.listeners { listener.close(promise: nil) }
            throw error
        }
    }

    private func makeListener() -> ServerBootstrap {
        let bound = NIOLoopBound(self, eventLoop: self.eventLoop)
        let limits = self.configuration.frameLimits
        let agreement = self.configuration.agreement
        return TunnelBootstraps.tunnelListener(on: self.eventLoop, configuration: self.configuration)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let server = bound.value
                    guard server.pendingHellos < server.configuration.maxPendingHellos else {
                        server.badInput.log(
                            server.logger,
                            "refusing a connection: \(server.pendingHellos) hellos pending (--max-handshakes)"
                        )
                        channel.close(promise: nil)
                        return
                    }
                    server.pendingHellos += 1
                    let handler = TunnelConnectionHandler(
                        side: .acceptor,
                        payloadBudget: server.configuration.connectionBudget(using: &server.random),
                        helloTimeout: server.configuration.helloTimeout,
                        delegate: server,
                        logger: server.logger,
                        badInput: server.badInput,
                        security: ConnectionSecurity(key: server.key),
                        agreement: agreement
                    )
                    try TunnelBootstraps.addTunnelHandlers(
                        to: channel, handler: handler, limits: limits,
                        congestionControl: server.configuration.congestionControl, logger: server.logger)
                }
            }
    }

    /// Stops accepting, ends every session and closes every connection.
    public func stop() -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            self.stopped = true
            self.housekeepingTask?.cancel()
            for link in self.links.values { link.closeAll() }
            let closes = self.listeners.map { $0.close() }
            return EventLoopFuture.andAllComplete(closes, on: self.eventLoop)
        }
    }

    // MARK: Links

    /// The link of `client`, made on its first hello: its sessions follow the tuning the client
    /// declared there (clocks, buffer, budget, retries, window), so a user tunes one end.
    private func link(for client: ClientID, tuning: ClientTuning?) -> TunnelLink {
        if let link = self.links[client] { return link }
        var logger = self.logger
        logger[metadataKey: "client"] = "\(client)"
        let configuration = tuning.map { self.configuration.following($0) } ?? self.configuration
        let link = TunnelLink(
            eventLoop: self.eventLoop,
            configuration: configuration,
            logger: logger,
            isClient: false
        )
        link.onSessionEnded = { [unowned self] _ in self.sessionCount -= 1 }
        link.counters = self.counters
        self.links[client] = link
        self.linkSince[client] = self.eventLoop.now
        return link
    }

    /// Opens session `id` to `--forward`, or, for a transparent client, to `destination` if
    /// `--allow` admits it.
    private func open(_ id: SessionID, on link: TunnelLink, destination: SessionDestination?, windowBytes: Int) {
        if let existing = link.sessions[id] {
            // A repeated open (the client resyncing after a new sync connection) is answered
            // again once the session is open; while it is still dialing, the answer comes then.
            if existing.phase == .open { link.sendControl(.opened(id)) }
            return
        }
        guard !self.stopped else {
            link.sendControl(.openFailed(id, reason: "the server is shutting down"))
            return
        }
        let limit = self.configuration.effectiveMaxSessions
        guard self.sessionCount < limit else {
            self.badInput.log(
                self.logger, "refusing session \(id): \(limit) sessions open (--max-sessions, --max-buffer)")
            link.sendControl(.openFailed(id, reason: "the server has \(limit) sessions open"))
            return
        }
        // The session's window: the client's for this session (`--window auto`), or its hello's.
        var sessionConfiguration = link.configuration
        if windowBytes > 0 {
            let largest = max(link.configuration.windowBytes, TunnelConfiguration.maxAutoWindowBytes)
            guard windowBytes >= 2 * link.configuration.payloadBytes, windowBytes <= largest else {
                self.badInput.log(link.logger, "refusing session \(id): a window of \(windowBytes) bytes (--window)")
                link.sendControl(
                    .openFailed(id, reason: "--window: \(windowBytes) bytes is outside 2 payloads ... \(largest)"))
                return
            }
            sessionConfiguration.windowBytes = windowBytes
        }
        let reserved = self.links.values.reduce(0) { $0 + $1.reservedBufferBytes }
        guard reserved + 2 * sessionConfiguration.windowBytes <= self.configuration.maxBufferBytes else {
            self.badInput.log(
                self.logger,
                "refusing session \(id): the open sessions' windows hold \(reserved >> 20) MiB (--max-buffer)")
            link.sendControl(.openFailed(id, reason: "the server's --max-buffer is taken by its open sessions"))
            return
        }
        let target: EndpointAddress
        if let destination {
            guard self.configuration.admits(destination) else {
                let rule =
                    self.configuration.allowRules.isEmpty
                    ? "this server has no --allow list, so it dials no destination a client names"
                    : "not in --allow \(self.configuration.allowRules.map(\.description).joined(separator: ", "))"
                self.badInput.log(link.logger, "refusing session \(id) to \(destination): \(rule)")
                link.sendControl(.openFailed(id, reason: "destination \(destination) refused: \(rule)"))
                return
            }
            target = EndpointAddress(host: destination.host, port: Int(destination.port))
        } else {
            guard let forward = self.configuration.forward else {
                link.sendControl(
                    .openFailed(
                        id, reason: "this server has no --forward: it serves only transparent clients (--allow)"))
                return
            }
            target = forward
        }
        let session = TunnelSession(
            id: id, link: link, configuration: sessionConfiguration, logger: link.logger, now: link.eventLoop.now)
        link.add(session)
        self.sessionCount += 1
        if self.configuration.localProtocol == .udp {
            session.openDatagramForward(target)
            return
        }
        let bound = NIOLoopBound(session, eventLoop: self.eventLoop)
        TunnelBootstraps.forwardDialer(on: self.eventLoop, configuration: self.configuration)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LocalStreamHandler(session: bound.value))
                }
            }
            .connect(to: target)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard session.phase == .opening else {
                        channel.close(promise: nil)
                        return
                    }
                    session.attach(localChannel: channel)
                    link.sendControl(.opened(id))
                    session.open()
                case .failure(let error):
                    let what = destination == nil ? "the forward address" : "the destination"
                    link.logger.warning(
                        "session refused: cannot reach \(what) \(target): \(error)",
                        metadata: ["session": "\(id)"]
                    )
                    link.sendControl(.openFailed(id, reason: "the server cannot reach \(what) \(target): \(error)"))
                    session.localChannelFailed(.forwardUnreachable)
                }
            }
    }

    // MARK: Housekeeping

    private func housekeeping() {
        let now = self.eventLoop.now
        for (client, link) in self.links {
            // The client retires idle connections; a dead client's are closed at twice that.
            link.housekeeping(now: now, idleLimit: self.configuration.idleTimeout * 2)
            let idleLink = link.sync == nil && link.sessions.isEmpty
            if idleLink && link.dataConnections.isEmpty
                && now - (self.linkSince[client] ?? now) > self.configuration.helloTimeout
            {
                self.links.removeValue(forKey: client)
                self.linkSince.removeValue(forKey: client)
            }
        }
    }
}

extension TunnelServer: TunnelConnectionDelegate {
    func connectionReady(_ connection: TunnelConnectionHandler, hello: ClientHello?) {
        self.pendingHellos -= 1
        connection.helloCounted = false
        guard let hello else { return }
        guard self.links[hello.clientID] != nil || self.links.count < self.configuration.maxClients else {
            self.badInput.log(
                self.logger, "refusing client \(hello.clientID): \(self.links.count) clients served (--max-clients)")
            connection.close()
            return
        }
        let link = self.link(for: hello.clientID, tuning: hello.tuning)
        if hello.kind != .sync && link.dataConnections.count >= self.configuration.maxConnectionsPerClient {
            self.badInput.log(
                link.logger,
                "refusing a data connection: \(link.dataConnections.count) open for this client (--max-conns)"
            )
            connection.close()
            return
        }
        switch hello.kind {
        case .sync:
            link.logger.info(
                "client connected",
                metadata: [
                    "peer": "\(connection.channel?.remoteAddress.map { "\($0)" } ?? "?")",
                    "tuning": "\(hello.tuning.map { "\($0)" } ?? "this end's own (the client declared none)")",
                ])
            link.attachSync(connection)
        case .fling, .lasso:
            // The client's mode says whether this end may send on the connection at all, and
            // which kind downstream payloads prefer.
            if hello.dup.serverSends(on: hello.kind) {
                let budget = link.newConnectionBudget(using: &self.random)
                connection.assignBudget(budget.budget, factor: budget.factor)
            } else {
                connection.assignBudget(0)
            }
            connection.dispatchRank = hello.dup.downstreamRank(of: hello.kind)
            link.dataConnectionReady(connection)
        }
    }

    func connection(_ connection: TunnelConnectionHandler, received payload: PayloadFrame) {
        guard let client = connection.clientID else { return }
        self.links[client]?.received(payload: payload)
    }

    func connection(_ connection: TunnelConnectionHandler, received message: ControlMessage) {
        guard let client = connection.clientID, let link = self.links[client], link.sync === connection else {
            connection.close()
            return
        }
        switch message {
        case .open(let id, let window):
            link.syncFrameReceived()
            self.open(id, on: link, destination: nil, windowBytes: Int(window))
        case .openTo(let id, let destination, let window):
            link.syncFrameReceived()
            self.open(id, on: link, destination: destination, windowBytes: Int(window))
        default:
            link.route(message)
        }
    }

    func connectionAvailabilityChanged(_ connection: TunnelConnectionHandler) {
        guard let client = connection.clientID else { return }
        self.links[client]?.dispatcher.drain()
    }

    func connectionRetired(_ connection: TunnelConnectionHandler) {
        guard let client = connection.clientID, let link = self.links[client] else { return }
        link.dataConnectionRetired(connection)
    }

    func connectionNearlySpent(_ connection: TunnelConnectionHandler) {
        // Only the server knows its budget on the connection: tell the client, over the sync
        // connection, to dial the replacement now. Only while the sync connection is up: a queued
        // notice would be stale by the time it went.
        guard let client = connection.clientID, let link = self.links[client], link.sync != nil,
            let nonce = connection.clientNonce
        else { return }
        link.sendControl(.replace(nonce))
    }

    func connectionClosed(_ connection: TunnelConnectionHandler) {
        if connection.helloCounted {
            connection.helloCounted = false
            self.pendingHellos -= 1
        }
        guard let client = connection.clientID, let link = self.links[client] else { return }
        if connection.kind == .sync {
            link.syncClosed(connection)
            if link.sync == nil { link.logger.info("client disconnected") }
        } else {
            link.dataConnectionClosed(connection)
        }
    }

    func connection(_ connection: TunnelConnectionHandler, disagrees mismatches: [TunnelAgreement.Mismatch]) {
        self.badInput.log(
            self.logger,
            "refusing a client whose settings differ from this end's: \(mismatches.map(\.description).joined(separator: "; ")) (these flags must be the same on both ends)",
            metadata: ["peer": "\(connection.channel?.remoteAddress.map { "\($0)" } ?? "?")"],
            level: .error
        )
    }
}
