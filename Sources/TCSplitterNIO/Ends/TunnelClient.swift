import Logging
import NIOCore
import NIOPosix
import TCSplitterCore

/// The client end: accepts local connections on `--listen`, keeps the sync connection, a
/// pre-dialed pool of `--conns` fling connections and (in dup modes lasso, both and none) one of
/// `--lassoes` lasso connections to the server, and runs one `TunnelSession` per local connection.
/// Every connection is dialed from here, so the client can sit behind NAT. Everything runs on one
/// event loop, so its state needs no locks.
public final class TunnelClient: @unchecked Sendable {
    // @unchecked: every stored property is only touched on `eventLoop` (asserted).
    let configuration: TunnelConfiguration
    /// The pre-shared key, when the tunnel has one.
    private let key: PreSharedKey?
    let eventLoop: EventLoop
    let logger: Logger
    private let clientID = ClientID.random()
    let link: TunnelLink
    let badInput = RateLimitedLog()
    var listener: Channel?
    /// The pre-dialed data connections by kind: fling always, lasso in the modes that use them.
    private(set) var pools: [ConnectionKind: ConnectionPool] = [:]
    var syncDialing = false
    /// Sync dials that failed (or whose connection closed before its hello completed) since the
    /// last sync connection: while above zero and no sync is up, local connections are reset at
    /// once instead of waiting for a server that cannot be reached.
    var syncFailures = 0
    /// The server declared settings that differ from this end's (`--frags`, `--fec`,
    /// `--protocol`): the pools stop dialing until a sync connection is accepted.
    var settingsRefused = false
    private var housekeepingTask: RepeatingLoopTask?
    var stopped = false
    fileprivate var random = SystemRandomNumberGenerator()
    private var dialed: [ObjectIdentifier: Channel] = [:]
    /// `--conns auto`: the pool's sizer and its interval under way (`TunnelClient+PoolSizing`).
    var poolSizing: PoolSizingState?

    /// A client end that will run on `eventLoop`.
    public init(configuration: TunnelConfiguration, eventLoop: EventLoop, logger: Logger, key: PreSharedKey? = nil) {
        self.key = key
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.link = TunnelLink(
            eventLoop: eventLoop,
            configuration: configuration,
            logger: logger,
            isClient: true
        )
        let ramping = configuration.rampDelay > .zero
        self.pools[.fling] = ConnectionPool(target: ramping ? 1 : configuration.connections)
        if configuration.effectiveLassoes > 0 {
            self.pools[.lasso] = ConnectionPool(target: ramping ? 1 : configuration.effectiveLassoes)
        }
        if configuration.autoConnections {
            self.poolSizing = PoolSizingState(
                sizer: PoolSizer(
                    initial: configuration.connections, maximum: configuration.poolMaximum, now: eventLoop.now),
                intervalStart: eventLoop.now,
                goodputMark: 0
            )
        }
    }

    /// The size of the fling pool now (`--conns`, or what `--conns auto` chose).
    var poolSize: Int { self.poolSizing?.sizer.size ?? self.configuration.connections }

    /// `--conns auto` chose `size`: the fling pool (and the lasso pool when `--lassoes` follows
    /// `--conns`) keeps that many; members past it retire now (idle ones would only wait for
    /// `--idle-timeout`).
    func resizePools(to size: Int) {
        var kinds: [ConnectionKind] = [.fling]
        if self.configuration.lassoes == 0 && self.pools[.lasso] != nil { kinds.append(.lasso) }
        for kind in kinds {
            guard var pool = self.pools[kind] else { continue }
            pool.setTarget(size)
            let excess = pool.members.count - size
            self.pools[kind] = pool
            if excess > 0 {
                let extra = self.link.dataConnections.values.filter {
                    $0.kind == kind && pool.members.contains($0.serial)
                }
                for connection in extra.prefix(excess) { connection.retire() }
            }
            self.replenish(kind)
        }
    }

    /// Binds `--listen` and starts dialing the server. Returns the bound local address.
    public func start() -> EventLoopFuture<SocketAddress> {
        self.eventLoop.flatSubmit {
            self.startOnLoop()
        }
    }

    private func startOnLoop() -> EventLoopFuture<SocketAddress> {
        guard let listen = self.configuration.listen else {
            return self.eventLoop.makeFailedFuture(ConfigurationError(flag: "--listen", "missing"))
        }
        let bound = NIOLoopBound(self, eventLoop: self.eventLoop)
        let listening: EventLoopFuture<Channel>
        if self.configuration.localProtocol == .udp {
            listening = DatagramListener(
                link: self.link,
                configuration: self.configuration,
                logger: self.logger,
                badInput: self.badInput
            ).bind(listen)
        } else {
            listening = TunnelBootstraps.localListener(on: self.eventLoop)
                .childChannelInitializer { channel in
                    guard bound.value.configuration.transparent else {
                        return channel.eventLoop.makeCompletedFuture {
                            try bound.value.acceptLocal(channel, destination: nil)
                        }
                    }
                    return OriginalDestination.read(channel, listener: bound.value.listener?.localAddress)
                        .flatMapThrowing { destination in
                            guard let destination else {
                                bound.value.refuseUnredirected(channel)
                                return
                            }
                            try bound.value.acceptLocal(channel, destination: destination)
                        }
                }
                .bind(host: listen.bindHost, port: listen.port)
        }
        return
            listening
            .flatMapThrowing { channel in
                let client = bound.value
                client.listener = channel
                if client.configuration.transparent {
                    OriginalDestination.allowTProxy(on: channel).whenSuccess { allowed in
                        if !allowed {
                            bound.value.logger.info(
                                "TPROXY unavailable (IP_TRANSPARENT needs CAP_NET_ADMIN); REDIRECT rules still work")
                        }
                    }
                }
                client.dialSync()
                client.replenishPools()
                if client.configuration.rampDelay > .zero {
                    client.eventLoop.assumeIsolated().scheduleTask(in: client.configuration.rampDelay) {
                        client.pools[.fling]?.setTarget(client.poolSize)
                        client.pools[.lasso]?.setTarget(
                            client.configuration.lassoes > 0 ? client.configuration.lassoes : client.poolSize)
                        client.replenishPools()
                    }
                }
                client.housekeepingTask = RepeatingLoopTask(
                    eventLoop: client.eventLoop,
                    interval: client.configuration.housekeepingInterval
                ) { [unowned client] in client.housekeeping() }
                guard let address = channel.localAddress else { throw ChannelError.inappropriateOperationForState }
                return address
            }
    }

    /// Stops accepting, ends every session and closes every connection.
    public func stop() -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            self.stopped = true
            self.housekeepingTask?.cancel()
            self.link.closeAll()
            var closes = self.dialed.values.map { $0.close() }
            if let listener = self.listener { closes.append(listener.close()) }
            return EventLoopFuture.andAllComplete(closes, on: self.eventLoop)
        }
    }

    // MARK: Local connections

    /// A transparent end was reached directly, not through a redirect: nowhere to send it.
    private func refuseUnredirected(_ channel: Channel) {
        self.badInput.log(
            self.logger,
            "refusing a local connection from \(channel.remoteAddress.map { "\($0)" } ?? "?"): no original destination (--transparent takes connections a REDIRECT or TPROXY rule sent here, not ones dialed to --listen)"
        )
        channel.closeWithReset()
    }

    /// A local connection becomes a session; `destination` is its original destination in
    /// transparent mode (else the server's `--forward`).
    private func acceptLocal(_ channel: Channel, destination: SessionDestination?) throws {
        guard !self.stopped else {
            channel.close(promise: nil)
            return
        }
        guard let sessionConfiguration = self.link.newSessionConfiguration() else {
            self.badInput.log(
                self.logger,
                "refusing local connection: \(self.link.sessions.count) sessions open, their windows holding \(self.link.reservedBufferBytes >> 20) MiB (--max-sessions, --max-buffer)"
            )
            channel.close(promise: nil)
            return
        }
        guard self.link.sync != nil || self.syncFailures == 0 else {
            let reason =
                self.settingsRefused
                ? "the server's settings differ from this end's (see the error above)"
                : "the server's sync address \(self.configuration.remoteSync.map { "\($0)" } ?? "?") cannot be reached"
            self.badInput.log(self.logger, "resetting local connection: \(reason)")
            channel.closeWithReset()
            return
        }
        let id = SessionID.random()
        let session = TunnelSession(
            id: id, link: self.link, configuration: sessionConfiguration, logger: self.logger,
            now: self.link.eventLoop.now)
        session.destination = destination
        try channel.pipeline.syncOperations.addHandler(LocalStreamHandler(session: session))
        session.attach(localChannel: channel)
        self.link.add(session)
        self.link.sendControl(session.openRequest)
        self.logger.debug(
            "session opening",
            metadata: [
                "session": "\(id)", "app": "\(channel.remoteAddress.map { "\($0)" } ?? "?")",
                "destination": "\(destination.map { "\($0)" } ?? "forward")",
            ])
        let openTimeout = self.configuration.dialTimeout * 3
        self.eventLoop.assumeIsolated().scheduleTask(in: openTimeout) {
            guard session.phase == .opening else { return }
            session.localChannelFailed(.openTimedOut(milliseconds: openTimeout.milliseconds))
        }
    }

    // MARK: Sync connection

    func dialSync() {
        guard !self.stopped, !self.syncDialing, self.link.sync == nil, let remote = self.configuration.remoteSync else {
            return
        }
        self.syncDialing = true
        self.dial(kind: .sync, to: remote).assumeIsolated().whenComplete { result in
            self.syncDialing = false
            if case .failure(let error) = result {
                self.syncAttemptFailed(
                    "cannot reach the server's sync address \(remote): \(error); retrying, and resetting local connections until it answers"
                )
            }
        }
    }

    /// A sync dial failed, or its connection closed before the server answered on it: counted
    /// (local connections are reset at once while failures last), said at error level the first
    /// time (`message`; `nil` when something else said it), sessions still waiting to open are
    /// reset, and the dial is tried again after the backoff.
    func syncAttemptFailed(_ message: String?) {
        self.syncFailures += 1
        if let message {
            if self.syncFailures == 1 { self.logger.error("\(message)") } else { self.logger.debug("\(message)") }
        }
        for session in Array(self.link.sessions.values) where session.phase == .opening {
            session.localChannelFailed(.serverUnreachable)
        }
        self.eventLoop.assumeIsolated().scheduleTask(in: Self.backoff(self.syncFailures)) { self.dialSync() }
    }

    // MARK: Fling and lasso pools

    func replenishPools() {
        for kind in Array(self.pools.keys) { self.replenish(kind) }
    }

    func replenish(_ kind: ConnectionKind) {
        guard !self.stopped, !self.settingsRefused,
            let remote = kind == .lasso ? self.configuration.lassoTarget : self.configuration.remoteFling,
            let dials = self.pools[kind]?.dialsToStart(), dials > 0
        else { return }
        for _ in 0..<dials {
            self.dial(kind: kind, to: remote).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let handler):
                    self.pools[kind]?.dialSucceeded(serial: handler.serial)
                case .failure(let error):
                    guard let backoff = self.pools[kind]?.dialFailed(), !self.stopped else { return }
                    if self.pools[kind]?.consecutiveFailures == 1 {
                        self.logger.warning("cannot reach the server's \(kind) address \(remote): \(error); retrying")
                    }
                    self.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(backoff)) {
                        self.pools[kind]?.redialDue()
                        self.replenish(kind)
                    }
                }
            }
        }
    }

    /// A pooled connection retired or closed: dial its replacement.
    func poolMemberGone(_ connection: TunnelConnectionHandler) {
        guard let kind = connection.kind, self.pools[kind]?.memberGone(serial: connection.serial) == true else {
            return
        }
        self.replenish(kind)
    }

    private func dial(kind: ConnectionKind, to remote: EndpointAddress) -> EventLoopFuture<TunnelConnectionHandler> {
        let bound = NIOLoopBound(self, eventLoop: self.eventLoop)
        let limits = self.configuration.frameLimits
        let agreement = self.configuration.agreement
        let tuning = self.configuration.tuning
        return TunnelBootstraps.tunnelDialer(on: self.eventLoop, configuration: self.configuration)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let client = bound.value
                    let sends = client.configuration.dup.clientSends(on: kind)
                    let budget = sends ? client.link.newConnectionBudget(using: &client.random) : (budget: 0, factor: 1)
                    let handler = TunnelConnectionHandler(
                        side: .dialer(kind, client.clientID),
                        payloadBudget: budget.budget,
                        budgetFactor: budget.factor,
                        helloTimeout: client.configuration.helloTimeout,
                        delegate: client,
                        logger: client.logger,
                        badInput: client.badInput,
                        security: ConnectionSecurity(key: client.key),
                        dup: client.configuration.dup,
                        agreement: agreement,
                        tuning: tuning
                    )
                    try TunnelBootstraps.addTunnelHandlers(
                        to: channel, handler: handler, limits: limits,
                        congestionControl: client.configuration.congestionControl, logger: client.logger)
                }
            }
            .connect(to: remote)
            .flatMapThrowing { channel in
                let client = bound.value
                guard !client.stopped else {
                    channel.close(promise: nil)
                    throw ChannelError.ioOnClosedChannel
                }
                let key = ObjectIdentifier(channel)
                client.dialed[key] = channel
                channel.closeFuture.whenComplete { _ in bound.value.dialed.removeValue(forKey: key) }
                return try channel.pipeline.syncOperations.handler(type: TunnelConnectionHandler.self)
            }
    }

    private static func backoff(_ failures: Int) -> TimeAmount {
        .milliseconds(ConnectionPool.backoffMilliseconds(afterFailures: failures))
    }

    // MARK: Housekeeping

    private func housekeeping() {
        let now = self.eventLoop.now
        self.link.housekeeping(now: now, idleLimit: self.configuration.idleTimeout)
        self.samplePool(now: now)
    }
}
