import Logging
import NIOCore
import TCSplitterCore
import TCSplitterFEC

/// What the two ends share about one client end: its sync connection, its data connections and
/// their dispatcher, and its sessions. The client end has one link; the server one per client.
final class TunnelLink {
    let eventLoop: EventLoop
    let configuration: TunnelConfiguration
    let logger: Logger
    let dispatcher: PayloadDispatcher
    private(set) var sessions: [SessionID: TunnelSession] = [:]
    private(set) var sync: TunnelConnectionHandler?
    /// The data connections, by serial (the name a sent payload keeps of its carrier).
    private(set) var dataConnections: [UInt64: TunnelConnectionHandler] = [:]
    /// When housekeeping last ran: a clock for what needs no finer one (a payload's send time,
    /// checked against seconds).
    private(set) var lastHousekeeping: NIODeadline
    /// A flush of the sync connection is scheduled for the end of this event-loop pass.
    private var syncFlushPending = false
    private(set) var lastSyncFrame: NIODeadline
    private var pendingControl: [ControlMessage] = []
    private let isClient: Bool
    /// Round trip of the sync connection, from pings both ways; drives the retry timeout.
    private(set) var roundTrip = RoundTripEstimator()
    private var lastPing: NIODeadline
    /// When the sync connection went down (sessions wait for it up to the grace time).
    private(set) var syncDownSince: NIODeadline? = nil
    /// Called after a session ended and was removed.
    var onSessionEnded: ((TunnelSession) -> Void)?
    /// Payloads that named no live session (late or forged), dropped.
    private(set) var orphanPayloads = 0
    /// The end's running totals (the server shares one among its links).
    var counters = EndCounters()
    /// When a data connection last broke (closed with an error or before both sides finished):
    /// UDP sessions take only gaps near such a moment for lost datagrams.
    private(set) var lastDataConnectionBreak: NIODeadline?
    /// The last control messages of ended sessions, repeated on each new sync connection.
    private(set) var endedSessions: EndedSessionLog
    /// The budget of this end's new data connections (`--budget auto` scales it to the link).
    private(set) var budgetScaler: ConnectionBudgetScaler
    /// Holds resends back when the wire would carry over 1.3 × what the peer acknowledged.
    private(set) var sendGuard: SendGuard

    init(eventLoop: EventLoop, configuration: TunnelConfiguration, logger: Logger, isClient: Bool) {
        self.eventLoop = eventLoop
        let now = eventLoop.now
        self.lastHousekeeping = now
        self.lastSyncFrame = now
        self.lastPing = now
        self.configuration = configuration
        self.logger = logger
        self.isClient = isClient
        self.dispatcher = PayloadDispatcher(eventLoop: eventLoop)
        self.budgetScaler = configuration.makeBudgetScaler()
        self.sendGuard = SendGuard(
            fecDataShards: configuration.fecDataShards, fecParityShards: configuration.fecParityShards,
            allowanceBytes: max(1 << 20, 16 * configuration.payloadBytes))
        // A dead sync connection is replaced (or the peer's sessions end) within the grace time
        // plus the keepalive's detection; what it lost must be repeated within that.
        self.endedSessions = EndedSessionLog(
            capacity: configuration.maxSessions,
            lifetime: configuration.stallTimeout + configuration.keepaliveInterval * 3
        )
    }

    /// Reed-Solomon codecs by data:parity (a group closed early has fewer data shards).
    private var codecs: [Int: ReedSolomonCodec] = [:]

    /// The codec for `dataShards`:`parityShards`, made once.
    func codec(dataShards: Int, parityShards: Int) -> ReedSolomonCodec? {
        let key = dataShards << 8 | parityShards
        if let codec = self.codecs[key] { return codec }
        guard let codec = try? ReedSolomonCodec(dataShards: dataShards, parityShards: parityShards) else { return nil }
        self.codecs[key] = codec
        return codec
    }

    // MARK: Sessions

    /// Bytes the open sessions may buffer at most, both directions (2 × each one's window).
    var reservedBufferBytes: Int {
        self.sessions.values.reduce(0) { $0 + 2 * $1.configuration.windowBytes }
    }

    /// Client: the configuration of a new session, its window chosen for the path
    /// (`TunnelConfiguration.sessionWindow`), or `nil` when `--max-sessions` or `--max-buffer`
    /// (the sessions' windows must fit it) admit no more.
    func newSessionConfiguration() -> TunnelConfiguration? {
        var configuration = self.configuration
        configuration.windowBytes = configuration.sessionWindow(roundTrip: self.roundTrip.smoothed)
        guard self.sessions.count < self.configuration.effectiveMaxSessions,
            self.reservedBufferBytes + 2 * configuration.windowBytes <= self.configuration.maxBufferBytes
        else { return nil }
        return configuration
    }

    func add(_ session: TunnelSession) {
        self.sessions[session.id] = session
        self.counters.values.sessionsOpened += 1
    }

    /// `farewell` is the session's last control messages, kept to repeat on a new sync connection.
    func sessionEnded(_ session: TunnelSession, farewell: [ControlMessage]) {
        guard self.sessions[session.id] === session else { return }
        self.endedSessions.record(session.id, messages: farewell, now: self.eventLoop.now)
        self.sessions.removeValue(forKey: session.id)
        self.dispatcher.discard(session: session)
        self.onSessionEnded?(session)
    }

    // MARK: Sync

    /// Makes `connection` the sync connection (a previous one is closed), sends what was queued,
    /// and has every session, and every recently ended one, repeat what the peer may have missed.
    func attachSync(_ connection: TunnelConnectionHandler) {
        if let old = self.sync, old !== connection {
            old.flush()
            old.close()
        }
        self.sync = connection
        self.counters.values.connectionsOpened[.sync, default: 0] += 1
        self.syncDownSince = nil
        self.lastSyncFrame = self.eventLoop.now
        // Ping at the next housekeeping: the round trip sizes the client's pool (`PoolSizer`) and
        // the budgets, and a transfer that starts now should not wait a second for it.
        self.lastPing = .distantPast
        let queued = self.pendingControl
        self.pendingControl.removeAll()
        for message in queued { connection.send(control: message) }
        for session in Array(self.sessions.values) { session.resync(isClient: self.isClient) }
        for message in self.endedSessions.messagesToRepeat(now: self.eventLoop.now) {
            connection.send(control: message)
        }
    }

    /// The sync connection closed. Sessions go on (their data connections still work) and wait
    /// for a new one up to the grace time (`--stall-timeout`); control messages queue meanwhile.
    func syncClosed(_ connection: TunnelConnectionHandler) {
        guard self.sync === connection else { return }
        self.sync = nil
        self.syncDownSince = self.eventLoop.now
        if !self.sessions.isEmpty {
            self.logger.warning(
                "sync connection lost; \(self.sessions.count) session(s) wait up to \(self.configuration.stallTimeout.milliseconds) ms for it"
            )
        }
    }

    /// Sends a control message on the sync connection, or queues it (bounded) while it is down;
    /// what the bound drops, the resync after reconnecting repeats.
    func sendControl(_ message: ControlMessage) {
        if let sync = self.sync {
            // Written now, flushed once at the end of this event-loop pass: many sessions
            // acknowledging in one pass (every request/response exchange acknowledges) cost one
            // write system call, not one each.
            sync.send(control: message, flush: false)
            if !self.syncFlushPending {
                self.syncFlushPending = true
                self.eventLoop.assumeIsolated().execute {
                    self.syncFlushPending = false
                    self.sync?.flush()
                }
            }
        } else if self.pendingControl.count < 4 * self.configuration.maxSessions {
            self.pendingControl.append(message)
        }
    }

    /// Routes a control message to its session. Returns `false` for `open` (the end handles it).
    func route(_ message: ControlMessage) {
        self.lastSyncFrame = self.eventLoop.now
        switch message {
        case .ping(let token):
            self.sendControl(.pong(token))
        case .pong(let token):
            let now = self.eventLoop.now.uptimeNanoseconds
            guard token <= now else { return }
            self.roundTrip.add(sample: .nanoseconds(Int64(now - token)))
            if let least = self.roundTrip.least, self.budgetScaler.roundTripMeasured(least) {
                self.logger.debug(
                    "data connections now carry \(self.budgetScaler.budget) payloads each way (the path's round trip is long: \(least.milliseconds) ms)"
                )
                // The connections opened before the round trip was known (the whole pool, at
                // start) would otherwise retire within their slow start.
                var generator = SystemRandomNumberGenerator()
                for connection in self.dataConnections.values where connection.budgetFactor < self.budgetScaler.factor {
                    let budget = self.newConnectionBudget(using: &generator)
                    connection.raiseBudget(budget.budget, factor: budget.factor)
                }
            }
        default:
            guard let id = message.sessionID else { return }
            self.sessions[id]?.received(control: message)
        }
    }

    /// Notes traffic on the sync connection (keepalive).
    func syncFrameReceived() {
        self.lastSyncFrame = self.eventLoop.now
    }

    // MARK: Data connections

    func dataConnectionReady(_ connection: TunnelConnectionHandler) {
        self.dataConnections[connection.serial] = connection
        if let kind = connection.kind { self.counters.values.connectionsOpened[kind, default: 0] += 1 }
        if connection.canSend { self.dispatcher.add(connection) }
    }

    func dataConnectionRetired(_ connection: TunnelConnectionHandler) {
        self.dispatcher.remove(connection)
        if let lifetime = connection.budgetSpentAfter {
            if self.budgetScaler.budgetSpent(
                factor: connection.budgetFactor, lifetime: lifetime, roundTrip: self.roundTrip.smoothed ?? .zero)
            {
                self.logger.debug(
                    "data connections now carry \(self.budgetScaler.budget) payloads each way",
                    metadata: ["spentInMs": "\(lifetime.nanoseconds / 1_000_000)"]
                )
            }
        } else if connection.payloadBudget > 0,
            self.eventLoop.now - connection.lastActivity
                >= .nanoseconds(self.configuration.idleTimeout.nanoseconds / 2),
            self.budgetScaler.connectionIdled()
        {
            // Retired idle, by this end's timer or the peer's (its FIN after a quiet half timeout).
            self.logger.debug("data connections went idle: back to \(self.budgetScaler.budget) payloads each way")
        }
    }

    /// A budget for a new data connection this end sends on, and the scaler's factor it was
    /// drawn at (the connection reports it back when it has spent the budget).
    func newConnectionBudget<G: RandomNumberGenerator>(using generator: inout G) -> (budget: Int, factor: Int) {
        let budget = self.configuration.connectionBudget(baseBudget: self.budgetScaler.budget, using: &generator)
        return (budget, self.budgetScaler.factor)
    }

    func dataConnectionClosed(_ connection: TunnelConnectionHandler) {
        self.dispatcher.remove(connection)
        self.dataConnections.removeValue(forKey: connection.serial)
        guard !connection.closedCleanly else { return }
        self.lastDataConnectionBreak = self.eventLoop.now
        self.logger.debug(
            "data connection broke: \(connection.endDescription)",
            metadata: ["conn": "\(connection.kind.map { "\($0)" } ?? "?")", "carried": "\(connection.carried.count)"]
        )
        guard !connection.carried.isEmpty else { return }
        // It died mid-stream: what it carried may be lost. Sessions with retries resend what is
        // still unacknowledged now, rather than waiting for the receiver to ask.
        let sessions = Set(connection.carried.map(\.0))
        for id in sessions { self.sessions[id]?.connectionLost(carrier: connection.serial) }
    }

    /// For one receiver's request at `now`: whether a payload written to connection `serial` at
    /// `sentAt` may be resent, as `ResendPolicy` decides from the connection's TCP state. A stuck
    /// connection (bytes unacknowledged by the peer's TCP and no acknowledgement for `stuckAfter`),
    /// or one whose payload is still missing after `stuckAfter` though its TCP has nothing
    /// outstanding (a black hole), is closed instead, which resends everything it carried
    /// (`connectionLost`). Each carrier's
    /// `TCP_INFO` is read once per request, and a stuck one is closed (and logged) once, however
    /// many of the requested payloads it carried.
    func resendFilter(now: NIODeadline) -> (_ serial: UInt64, _ sentAt: NIODeadline) -> Bool {
        var carriers: [UInt64: ResendPolicy.Carrier?] = [:]
        var closed: Set<UInt64> = []
        let lateAfter = self.roundTrip.requestTimeout
        let stuckAfter = self.stuckAfter
        return { serial, sentAt in
            let connection = self.dataConnections[serial]
            var carrier: ResendPolicy.Carrier? = nil
            if let connection {
                if let known = carriers[serial] {
                    carrier = known
                } else {
                    carrier = connection.resendCarrierState
                    carriers[serial] = carrier
                }
            }
            let decision = ResendPolicy.decide(
                carrierGone: connection == nil, carrier: carrier, sentAgo: now - sentAt, lateAfter: lateAfter,
                stuckAfter: stuckAfter)
            switch decision {
            case .resend:
                return true
            case .closeCarrier(let fault):
                if closed.insert(serial).inserted {
                    switch fault {
                    case .silent:
                        self.logger.info(
                            "closing a stuck data connection: its peer acknowledged nothing for \(stuckAfter.milliseconds) ms"
                        )
                    case .overdue:
                        self.logger.info(
                            "closing a data connection that lost a payload: still asked for after \(stuckAfter.milliseconds) ms though its TCP had nothing outstanding"
                        )
                    }
                    connection?.close()
                }
                return false
            case .wait:
                return false
            }
        }
    }

    /// Whether the send guard lets `bytes` more be resent now.
    func guardAllowsResend(bytes: Int) -> Bool {
        let inFlight = self.sessions.values.reduce(0) { $0 + $1.send.unacknowledgedBytes }
        let allowed = self.sendGuard.allowsResend(
            bytes: bytes, wireTotal: self.counters.values.wireBytesSent,
            acknowledgedTotal: self.counters.values.bytesAcknowledged, inFlightBytes: inFlight)
        if !allowed && self.sendGuard.refusedResends & (self.sendGuard.refusedResends - 1) == 0 {
            self.logger.notice(
                "resends held back: the wire would carry over 1.3 x the bytes the peer acknowledged in 5 s (in flight aside) (\(self.sendGuard.refusedResends) so far)"
            )
        }
        return allowed
    }

    /// Wire bytes per acknowledged byte over the last 5 s, for the status report and metrics.
    var wireRatio: Double {
        self.sendGuard.ratio(
            wireTotal: self.counters.values.wireBytesSent, acknowledgedTotal: self.counters.values.bytesAcknowledged)
    }

    /// How long a data connection with bytes in flight may go without an acknowledgement from
    /// the peer's TCP before a resend request counts it as stuck.
    var stuckAfter: TimeAmount { max(.seconds(2), self.roundTrip.retryTimeout * 4) }

    func received(payload: PayloadFrame) {
        self.counters.values.payloadsReceived += 1
        guard let session = self.sessions[payload.header.sessionID] else {
            self.orphanPayloads += 1
            self.counters.values.orphanPayloads += 1
            return
        }
        session.received(payload: payload)
    }

    // MARK: Housekeeping

    /// Keepalive, the sync grace time, sessions (retries, stalls, probes), idle data connections.
    /// `idleLimit` is when an idle data connection is retired.
    func housekeeping(now: NIODeadline, idleLimit: TimeAmount) {
        self.lastHousekeeping = now
        if let sync = self.sync {
            if now - self.lastSyncFrame > self.configuration.keepaliveInterval * 3 {
                self.logger.warning(
                    "sync connection silent for \((now - self.lastSyncFrame).milliseconds) ms; dropping it")
                sync.close()
            } else if now - self.lastPing >= .seconds(1) {
                self.lastPing = now
                sync.send(control: .ping(now.uptimeNanoseconds))
            }
        } else if let since = self.syncDownSince, now - since > self.configuration.stallTimeout, !self.sessions.isEmpty
        {
            self.logger.warning(
                "no sync connection for \((now - since).milliseconds) ms; ending \(self.sessions.count) session(s)")
            self.pendingControl.removeAll()
            for session in Array(self.sessions.values) { session.syncLost() }
        }
        self.endedSessions.expire(now: now)
        self.sendGuard.record(
            wireTotal: self.counters.values.wireBytesSent, acknowledgedTotal: self.counters.values.bytesAcknowledged,
            now: now)
        let retryTimeout = self.roundTrip.retryTimeout
        if self.dispatcher.queuedPayloads > 0 {
            self.logger.debug("payloads waiting for a connection; \(self.stateDescription)")
        }
        let requestTimeout = self.roundTrip.requestTimeout
        for session in Array(self.sessions.values) {
            session.housekeeping(now: now, retryTimeout: retryTimeout, requestTimeout: requestTimeout)
        }
        for connection in Array(self.dataConnections.values) {
            if now - connection.lastActivity > idleLimit {
                connection.retire()
            } else {
                connection.boundSendQueue(now: now)
            }
        }
    }

    /// Closes every connection and ends every session (shutdown).
    func closeAll() {
        if self.dispatcher.doubledShards > 0 {
            self.logger.info("FEC shards that shared a connection with their group: \(self.dispatcher.doubledShards)")
        }
        for session in Array(self.sessions.values) { session.shutdown() }
        for connection in Array(self.dataConnections.values) { connection.close() }
        self.sync?.flush()  // the sessions' resets, written unflushed just now
        self.sync?.close()
    }
}
