import Logging
import NIOCore
import TCSplitterCore

/// What the two ends share about one client end: its sync connection, its data connections and
/// their dispatcher, and its sessions. The client end has one link; the server one per client.
final class TunnelLink {
    let eventLoop: EventLoop
    let configuration: TunnelConfiguration
    let logger: Logger
    let dispatcher = PayloadDispatcher()
    private(set) var sessions: [SessionID: TunnelSession] = [:]
    private(set) var sync: TunnelConnectionHandler?
    private(set) var dataConnections: [ObjectIdentifier: TunnelConnectionHandler] = [:]
    private(set) var lastSyncFrame: NIODeadline = .now()
    private var pendingControl: [ControlMessage] = []
    private let queuesControlWhileDown: Bool
    /// Called after a session ended and was removed.
    var onSessionEnded: ((TunnelSession) -> Void)?
    /// Payloads that named no live session (late or forged), dropped.
    private(set) var orphanPayloads = 0

    init(eventLoop: EventLoop, configuration: TunnelConfiguration, logger: Logger, queuesControlWhileDown: Bool) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.logger = logger
        self.queuesControlWhileDown = queuesControlWhileDown
    }

    // MARK: Sessions

    func add(_ session: TunnelSession) {
        self.sessions[session.id] = session
    }

    func sessionEnded(_ session: TunnelSession) {
        guard self.sessions[session.id] === session else { return }
        self.sessions.removeValue(forKey: session.id)
        self.dispatcher.discard(session: session)
        self.onSessionEnded?(session)
    }

    // MARK: Sync

    /// Makes `connection` the sync connection; a previous one is closed.
    func attachSync(_ connection: TunnelConnectionHandler) {
        if let old = self.sync, old !== connection { old.close() }
        self.sync = connection
        self.lastSyncFrame = .now()
        let queued = self.pendingControl
        self.pendingControl.removeAll()
        for message in queued { connection.send(control: message) }
    }

    /// The sync connection closed: every session of this link ends.
    func syncClosed(_ connection: TunnelConnectionHandler) {
        guard self.sync === connection else { return }
        self.sync = nil
        self.pendingControl.removeAll()
        if !self.sessions.isEmpty {
            self.logger.warning("sync connection lost; ending \(self.sessions.count) session(s)")
        }
        for session in Array(self.sessions.values) { session.syncLost() }
    }

    /// Sends a control message on the sync connection (queued while it is down, on the client).
    func sendControl(_ message: ControlMessage) {
        if let sync = self.sync {
            sync.send(control: message)
        } else if self.queuesControlWhileDown, self.pendingControl.count < 4 * self.configuration.maxSessions {
            self.pendingControl.append(message)
        }
    }

    /// Routes a control message to its session. Returns `false` for `open` (the end handles it).
    func route(_ message: ControlMessage) {
        self.lastSyncFrame = .now()
        switch message {
        case .ping(let token):
            self.sendControl(.pong(token))
        case .pong:
            break
        default:
            guard let id = message.sessionID else { return }
            self.sessions[id]?.received(control: message)
        }
    }

    /// Notes traffic on the sync connection (keepalive).
    func syncFrameReceived() {
        self.lastSyncFrame = .now()
    }

    // MARK: Data connections

    func dataConnectionReady(_ connection: TunnelConnectionHandler) {
        self.dataConnections[ObjectIdentifier(connection)] = connection
        if connection.canSend { self.dispatcher.add(connection) }
    }

    func dataConnectionRetired(_ connection: TunnelConnectionHandler) {
        self.dispatcher.remove(connection)
    }

    func dataConnectionClosed(_ connection: TunnelConnectionHandler) {
        self.dispatcher.remove(connection)
        self.dataConnections.removeValue(forKey: ObjectIdentifier(connection))
    }

    func received(payload: PayloadFrame) {
        guard let session = self.sessions[payload.header.sessionID] else {
            self.orphanPayloads += 1
            return
        }
        session.received(payload: payload)
    }

    // MARK: Housekeeping

    /// Stalls, probes, idle data connections. `idleLimit` is when an idle connection is retired.
    func housekeeping(now: NIODeadline, idleLimit: TimeAmount) {
        if self.dispatcher.queuedPayloads > 0 {
            self.logger.debug(
                "payloads waiting for a connection",
                metadata: [
                    "queued": "\(self.dispatcher.queuedPayloads)",
                    "senders": "\(self.dispatcher.connections.count)",
                    "dataConnections": "\(self.dataConnections.count)",
                    "canSend": "\(self.dispatcher.connections.filter { $0.canSend }.count)",
                    "writable": "\(self.dispatcher.connections.filter { $0.isWritable }.count)",
                ]
            )
        }
        for session in Array(self.sessions.values) { session.housekeeping(now: now) }
        for connection in Array(self.dataConnections.values) where now - connection.lastActivity > idleLimit {
            connection.retire()
        }
    }

    /// Closes every connection and ends every session (shutdown).
    func closeAll() {
        for session in Array(self.sessions.values) { session.syncLost() }
        for connection in Array(self.dataConnections.values) { connection.close() }
        self.sync?.close()
    }
}
