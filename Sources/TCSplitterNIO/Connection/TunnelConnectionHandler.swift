import Logging
import NIOConcurrencyHelpers
import NIOCore
import TCSplitterCore

/// What an end does with the events of its tunnel connections. Called on the end's event loop.
protocol TunnelConnectionDelegate: AnyObject {
    /// The hello exchange completed (`hello` is the client's, on the server end).
    func connectionReady(_ connection: TunnelConnectionHandler, hello: ClientHello?)
    /// A payload frame arrived on a data connection.
    func connection(_ connection: TunnelConnectionHandler, received payload: PayloadFrame)
    /// A control message arrived on a sync connection.
    func connection(_ connection: TunnelConnectionHandler, received message: ControlMessage)
    /// This end has sent three quarters of its budget on the connection: time to dial a replacement.
    func connectionNearlySpent(_ connection: TunnelConnectionHandler)
    /// The connection can take payloads again, or can no longer.
    func connectionAvailabilityChanged(_ connection: TunnelConnectionHandler)
    /// The connection will carry no more payloads from this end (the pool may replace it).
    func connectionRetired(_ connection: TunnelConnectionHandler)
    /// The connection closed.
    func connectionClosed(_ connection: TunnelConnectionHandler)
    /// The peer's hello declared settings that must match this end's and do not: the connection
    /// is closed (the end reports it once, naming each flag and both values).
    func connection(_ connection: TunnelConnectionHandler, disagrees mismatches: [TunnelAgreement.Mismatch])
}

/// One tunnel connection (sync, fling or lasso) on either end: the hello exchange, then frames.
///
/// Thin: the connection's life is `DataConnectionStateMachine`; this handler performs its actions.
/// A protocol error (bad hello, a frame of the wrong kind, a decoding error) closes only this
/// connection and is logged at a limited rate.
final class TunnelConnectionHandler: ChannelInboundHandler, RemovableChannelHandler, FrameSink {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// Which side of the hello this end plays.
    enum Side {
        /// The client end, which dialed the connection for `kind`.
        case dialer(ConnectionKind, ClientID)
        /// The server end, which learns the kind from the client's hello.
        case acceptor
    }

    enum State {
        case awaitingHello
        case active
        case closed
    }

    let side: Side
    /// Set by the hello on the server (`TunnelConnectionHandler+Hello.swift`).
    var kind: ConnectionKind?
    /// The client's dup mode (the dialer's own; on the server, from the client's hello).
    var dup: DupMode
    /// The dispatcher's preference for this connection (lower first; see `DupMode.downstreamRank`).
    var dispatchRank = 0
    /// The dispatcher wrote to this connection in its current drain and flushes it at the end.
    var needsFlush = false
    /// The budget scaler's factor when this connection's budget was drawn.
    private(set) var budgetFactor = 1
    /// How long this end took to spend its budget (`DataConnectionStateMachine.budgetSpentAfter`).
    var budgetSpentAfter: TimeAmount? { self.dataState.budgetSpentAfter }
    /// The client nonce of this connection's hello: both ends know it, so the sync connection can
    /// name this connection (`ControlMessage.replace`).
    var clientNonce: HelloNonce?

    var clientID: ClientID?
    var dataState: DataConnectionStateMachine
    private(set) var lastActivity: NIODeadline = .now()
    /// Frames that arrived once the hello was done (a connection the peer closed with none may
    /// have been refused, e.g. for a wrong key, which the dialer cannot otherwise tell).
    private(set) var framesAfterHello = 0
    weak var delegate: TunnelConnectionDelegate?
    var state = State.awaitingHello
    private var context: ChannelHandlerContext?
    let helloTimeout: TimeAmount
    var helloTimer: Scheduled<Void>?
    let logger: Logger
    let badInput: RateLimitedLog
    private var retiredReported = false
    private var closedReported = false
    /// The stream payloads written on this connection (session, offset), so that if it dies
    /// before both sides finished, the ends can resend them at once.
    private(set) var carried: [(SessionID, UInt64)] = []
    /// Bytes of payload frames written to the channel so far.
    private(set) var payloadBytesWritten = 0
    /// The bound on this connection's unsent bytes (`TunnelConnectionHandler+SendQueue.swift`).
    var sendQueue = SendQueueBound()

    /// Whether the connection ended with both directions finished (nothing written on it lost).
    /// Once this end's output is shut, NIO closes the channel on the peer's FIN without an
    /// `inputClosed` event, so an end without any error after our shutdown counts as finished; a
    /// reset always comes with an error.
    var closedCleanly: Bool {
        self.dataState.outputShut && (self.dataState.inputEnded || (self.state == .closed && !self.failed))
    }
    /// The first error or protocol violation that ended (or marred) the connection.
    var failure: String?
    /// Whether an error or a protocol violation ended (or marred) the connection.
    private var failed: Bool { self.failure != nil }
    /// What ended the connection, for the log when it broke: the error, or how far each side got.
    var endDescription: String {
        "\(self.failure ?? "no error"); output \(self.dataState.outputShut ? "shut" : "open"), input \(self.dataState.inputEnded ? "ended" : "open"), \(self.dataState.sentPayloads) payloads sent"
    }

    /// A number no other connection of this process has (an object's identity can be reused
    /// once it is freed; this cannot).
    let serial: UInt64 = TunnelConnectionHandler.nextSerial()

    /// Two ends may run in one process (tests), so the counter is taken under a lock.
    private static let serialLock = NIOLockedValueBox<UInt64>(0)
    private static func nextSerial() -> UInt64 {
        Self.serialLock.withLockedValue { value in
            value += 1
            return value
        }
    }

    /// Whether the server still counts this connection among its pending hellos.
    var helloCounted = true
    /// The keying shared with this connection's decoder.
    let security: ConnectionSecurity
    /// The hello exchange's decisions (`HandshakeStateMachine`); this handler executes them and
    /// does the key's cryptography.
    var handshake: HandshakeStateMachine

    init(
        side: Side,
        payloadBudget: Int,
        budgetFactor: Int = 1,
        helloTimeout: TimeAmount,
        delegate: TunnelConnectionDelegate,
        logger: Logger,
        badInput: RateLimitedLog,
        security: ConnectionSecurity = ConnectionSecurity(key: nil),
        dup: DupMode = .fling,
        agreement: TunnelAgreement? = nil,
        tuning: ClientTuning? = nil
    ) {
        self.security = security
        self.side = side
        self.dup = dup
        self.dataState = DataConnectionStateMachine(budget: payloadBudget)
        self.budgetFactor = budgetFactor
        self.helloTimeout = helloTimeout
        self.delegate = delegate
        self.logger = logger
        self.badInput = badInput
        if case .dialer(let kind, let client) = side {
            self.kind = kind
            self.clientID = client
            self.handshake = HandshakeStateMachine(
                side: .dialer(kind, client, dup), keyed: security.key != nil, agreement: agreement, tuning: tuning)
        } else {
            self.handshake = HandshakeStateMachine(side: .acceptor, keyed: security.key != nil, agreement: agreement)
        }
    }

    /// Whether the peer may send payloads on this connection in the client's dup mode.
    private var peerMaySend: Bool {
        guard let kind = self.kind else { return false }
        switch self.side {
        case .dialer: return self.dup.serverSends(on: kind)
        case .acceptor: return self.dup.clientSends(on: kind)
        }
    }

    /// The channel, once added.
    var channel: Channel? { self.context?.channel }

    /// Payloads this end may send on the connection (0: it only receives).
    var payloadBudget: Int { self.dataState.budget }

    /// Whether a payload may be written now (ready, budget left, not half-closed).
    var canSend: Bool { self.state == .active && self.dataState.canSend }

    /// Whether the send buffer is below its high-water mark.
    var isWritable: Bool { self.context?.channel.isWritable ?? false }

    /// Bytes written and not yet taken by the kernel.
    var bufferedBytes: Int {
        (try? self.context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.becameActive(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.becameActive(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received(frame: self.unwrapInboundIn(data))
    }

    /// A frame from this connection's `FrameReader` (directly, or through `channelRead`).
    func received(frame: Frame) {
        self.lastActivity = self.context?.eventLoop.now ?? .now()
        switch self.state {
        case .closed:
            return
        case .awaitingHello:
            self.receiveHello(frame)
        case .active:
            self.framesAfterHello += 1
            switch (frame, self.kind) {
            case (.payload(let payload), .fling), (.payload(let payload), .lasso):
                guard self.peerMaySend else {
                    self.protocolError(
                        "a payload on a \(self.kind?.description ?? "?") connection, which carries none this way in \(self.dup) mode"
                    )
                    return
                }
                self.delegate?.connection(self, received: payload)
            case (.control(let message), .sync):
                self.delegate?.connection(self, received: message)
            default:
                self.protocolError("unexpected \(frame.type) frame on a \(self.kind?.description ?? "?") connection")
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard self.state == .active, self.kind != .sync else {
            self.close()
            return
        }
        self.perform(self.dataState.peerShutOutput())
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if self.state == .active { self.delegate?.connectionAvailabilityChanged(self) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.helloTimer?.cancel()
        self.state = .closed
        self.reportRetired()
        // Reported once, whoever closed: the end must drop the connection from its pool.
        if !self.closedReported {
            self.closedReported = true
            self.delegate?.connectionClosed(self)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if self.failure == nil { self.failure = "\(error)" }
        if case .truncatedFrame(let bufferedBytes) = error as? FrameDecodingError {
            // What a peer that stops (or a path that breaks) leaves behind, so not a warning;
            // still rate-limited, as anyone can cut frames. The frame's payload is lost like any
            // on a closed connection, and retries resend it.
            self.badInput.log(
                self.logger,
                "tunnel connection closed inside a frame (\(bufferedBytes) bytes of it dropped; the peer stopped or the path broke)",
                metadata: self.metadata, level: .info)
            self.close()
        } else if let error = error as? FrameDecodingError {
            self.protocolError("bad frame: \(error)")
        } else if let error = error as? FrameCipherError {
            self.protocolError("frame refused: \(error)")
        } else if let error = error as? EventLoopError, case .shutdown = error {
            self.close()  // the end is stopping
        } else {
            self.badInput.log(self.logger, "tunnel connection error: \(error)", metadata: self.metadata)
            self.close()
        }
    }

    /// Sets this end's payload budget once the connection's kind is known (0: receive only),
    /// drawn at the budget scaler's `factor`.
    func assignBudget(_ budget: Int, factor: Int = 1) {
        if self.dataState.assignBudget(budget) { self.budgetFactor = factor }
    }

    /// Raises this end's payload budget to `budget`, drawn at `factor`, unless the connection
    /// is near its end (`DataConnectionStateMachine.raiseBudget(to:)`).
    func raiseBudget(_ budget: Int, factor: Int) {
        if self.dataState.raiseBudget(to: budget) { self.budgetFactor = factor }
    }

    /// Writes one payload without flushing; the caller flushes after a batch.
    func send(payload header: PayloadHeader, data: ByteBuffer) {
        guard let context = self.context, self.canSend else { return }
        if !header.flags.contains(.parity) { self.carried.append((header.sessionID, header.offset)) }
        do {
            try OutboundFrameEncoder.encodePayload(
                header, data: data, cipher: self.security.cipher, allocator: context.channel.allocator
            ) {
                self.payloadBytesWritten += $0.readableBytes
                context.write(self.wrapOutboundOut($0), promise: nil)
            }
        } catch {
            self.logger.error("sealing a frame failed: \(error)")
            self.close()
            return
        }
        let now = context.eventLoop.now
        self.lastActivity = now
        let sent = self.dataState.payloadSent(now: now)
        if sent.askForReplacement { self.delegate?.connectionNearlySpent(self) }
        self.perform(sent.action)
    }

    /// Writes and flushes a control message (sync connections).
    func send(control message: ControlMessage, flush: Bool = true) {
        self.write(frame: .control(message), flush: flush)
    }

    /// Flushes what was written.
    func flush() {
        self.context?.flush()
    }

    /// Stops carrying payloads (idle): half-close, then close once the peer has too.
    func retire() {
        guard self.state == .active else {
            self.close()
            return
        }
        self.perform(self.dataState.idleTimeoutFired())
    }

    /// Closes the connection now.
    func close() {
        guard self.state != .closed, let context = self.context else { return }
        self.state = .closed
        context.close(promise: nil)
    }

    func write(frame: Frame, flush: Bool) {
        guard let context = self.context, self.state != .closed else { return }
        do {
            try OutboundFrameEncoder.encode(frame, cipher: self.security.cipher, allocator: context.channel.allocator) {
                context.write(self.wrapOutboundOut($0), promise: nil)
            }
        } catch {
            self.logger.error("sealing a frame failed: \(error)")
            self.close()
            return
        }
        if flush { context.flush() }
    }

    private func perform(_ action: DataConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .shutdownOutput:
            self.reportRetired()
            guard let context = self.context else { return }
            // A flushed empty write completes after every write before it, so the half-close can
            // never cut a payload (NIO escalates an output close to a full close when the input is
            // already shut, which would fail pending writes).
            let barrier = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: barrier)
            barrier.futureResult.assumeIsolated().whenComplete { _ in
                guard let context = self.context, self.state != .closed else { return }
                let shut = context.eventLoop.makePromise(of: Void.self)
                context.close(mode: .output, promise: shut)
                shut.futureResult.assumeIsolated().whenComplete { result in
                    if case .failure = result { self.close(); return }
                    self.perform(self.dataState.outputShutdownCompleted())
                }
            }
        case .close:
            self.reportRetired()
            self.close()
        }
    }

    private func reportRetired() {
        guard !self.retiredReported, self.dataState.isRetired || self.state == .closed else { return }
        self.retiredReported = true
        self.delegate?.connectionRetired(self)
    }

    func protocolError(_ message: String) {
        if self.failure == nil { self.failure = message }
        self.badInput.log(self.logger, "closing tunnel connection: \(message)", metadata: self.metadata)
        self.close()
    }

    var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        if let kind = self.kind { metadata["conn"] = "\(kind)" }
        if let remote = self.context?.channel.remoteAddress { metadata["peer"] = "\(remote)" }
        return metadata
    }
}
