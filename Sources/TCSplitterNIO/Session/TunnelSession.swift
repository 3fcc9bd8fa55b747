import Logging
import NIOCore
import TCSplitterCore
import TCSplitterFEC

/// One tunnelled connection on one end: the local socket (the application's on the client, the
/// `--forward` service's on the server) and both directions of its stream.
///
/// Thin glue over the Core state machines: `SessionLifecycle` decides the open, the half-closes
/// and the end (`TunnelSession+Lifecycle.swift` executes its actions); `SendStream` +
/// `TickTockScheduler` pack what the local socket gives into payloads; `ReceiveStream` +
/// `SteadyRateBuffer` put the peer's payloads back in order and release them to the local
/// socket; `ProgressReporter` acknowledges. The session ends when both directions are complete
/// (every byte written and acknowledged, both half-closes delivered), or with an error that is
/// logged and sent to the peer as `reset`. Time is the event loop's (`now`).
///
/// FEC and retries live in `TunnelSession+FEC.swift` and `TunnelSession+Retries.swift`; the
/// session's state is module-internal so those extensions can reach it. Only this type touches it.
final class TunnelSession {
    let id: SessionID
    /// Client: where the session asks the server to go (a transparent connection's original
    /// destination), or `nil` for the server's `--forward`.
    var destination: SessionDestination?
    /// Client: the message that opens the session (repeated on resync).
    var openRequest: ControlMessage {
        // The window travels when it is not the one the hello declared (`--window auto`).
        let window =
            self.configuration.windowBytes == self.link.configuration.windowBytes
            ? 0 : UInt32(clamping: self.configuration.windowBytes)
        return self.destination.map { .openTo(self.id, $0, windowBytes: window) } ?? .open(self.id, windowBytes: window)
    }
    unowned let link: TunnelLink
    let configuration: TunnelConfiguration
    var logger: Logger
    /// Where the session is in its life: the half-closes, writes in flight, the end and its
    /// reason. Only `run(_:)`'s callers change it, with the actions it returns.
    var lifecycle = SessionLifecycle()
    var localChannel: Channel?
    var send: SendStream
    var scheduler: TickTockScheduler
    var receive: ReceiveStream
    var forwarder: SteadyRateBuffer
    var reporter: ProgressReporter
    var lastReadDrained = true
    var bytesReadInCycle = 0
    var sentOffset: UInt64 = 0
    var tickTimer: Scheduled<Void>?
    var tockTimer: Scheduled<Void>?
    var releaseTimer: Scheduled<Void>?
    /// Stream bytes for the local socket, gathered in this event-loop pass and written with one
    /// flush at its end (`flushLocalBatch`): every payload a read of the data connections brings
    /// would otherwise cost a write system call, a promise and an acknowledgement check.
    var localBatch: [ByteBuffer] = []
    let openedAt: NIODeadline
    /// With `--retries`: payloads sent and not yet acknowledged, for resending.
    var retransmit: RetransmitBuffer?
    /// With `--retries`: the gaps to ask for again.
    var retry: RetryTracker?
    /// With `--fec`: groups of outgoing payloads, and the shards of incoming groups.
    var fecAssembler: FECGroupAssembler?
    var fecCollector: FECShardCollector?
    var groupTimer: Scheduled<Void>?
    /// With `--protocol udp`: datagram framing, loss policy and idle time (`TunnelSession+UDP.swift`).
    var datagram: DatagramSessionState?
    /// The end offset of the latest `push` payload received and not yet delivered in order: once
    /// delivery reaches it, the forwarder releases at once (the sender's lone burst).
    var pushPendingUpTo: UInt64?
    /// Notices the session standing still with work outstanding, to log where it waits.
    var stallWatch: StallWatch<SessionProgressMark>

    init(id: SessionID, link: TunnelLink, configuration: TunnelConfiguration, logger: Logger, now: NIODeadline) {
        self.id = id
        self.link = link
        self.configuration = configuration
        self.logger = logger
        self.logger[metadataKey: "session"] = "\(id)"
        self.send = SendStream(payloadBytes: configuration.payloadBytes, windowBytes: configuration.windowBytes)
        self.scheduler = TickTockScheduler(
            tickInterval: configuration.tickInterval,
            tockInterval: configuration.tockInterval,
            bulkBytes: configuration.payloadBytes,
            adaptive: configuration.adaptiveClocks
        )
        self.receive = ReceiveStream(windowBytes: configuration.windowBytes, now: now)
        self.forwarder = SteadyRateBuffer(
            releaseInterval: configuration.bufferInterval,
            prefillPayloads: configuration.bufferPayloads,
            payloadBytes: configuration.payloadBytes,
            highWaterBytes: configuration.windowBytes / 2,
            now: now
        )
        self.reporter = ProgressReporter(
            windowBytes: configuration.windowBytes,
            probeInterval: .seconds(1),
            now: now
        )
        self.openedAt = now
        self.stallWatch = StallWatch(
            threshold: max(.seconds(1), min(.seconds(10), .nanoseconds(configuration.stallTimeout.nanoseconds / 2))),
            now: now
        )
        if configuration.fecDataShards > 0 {
            self.fecAssembler = FECGroupAssembler(
                dataShards: configuration.fecDataShards,
                parityShards: configuration.fecParityShards,
                payloadBytes: configuration.payloadBytes
            )
            let groupBytes = configuration.fecDataShards * configuration.payloadBytes
            self.fecCollector = FECShardCollector(
                payloadBytes: configuration.payloadBytes,
                maxGroups: 4 * (configuration.windowBytes / groupBytes) + 16
            )
        }
        if configuration.localProtocol == .udp {
            self.datagram = DatagramSessionState(now: now)
        }
        if configuration.retries {
            self.retransmit = RetransmitBuffer()
            // Four payloads of a gap per request: enough to unblock the stream, not the whole flight.
            self.retry = RetryTracker(
                skipAfter: configuration.retrySkip >= 0 ? configuration.retrySkip : nil,
                maxRequestBytes: UInt64(4 * configuration.payloadBytes)
            )
        }
    }

    /// Where the session is in its life.
    var phase: SessionLifecycle.Phase { self.lifecycle.phase }

    /// Whether the session is over (its queued payloads are dropped).
    var isEnded: Bool { self.lifecycle.isEnded }

    /// The event loop's time: the session reads no clock of its own, so an embedded event loop
    /// can drive it.
    var now: NIODeadline { self.link.eventLoop.now }

    /// Bytes read from the local socket / written to it.
    var bytesFromLocal: UInt64 { self.send.packedOffset + UInt64(self.send.pendingBytes) }
    var bytesToLocal: UInt64 { self.receive.consumedOffset }

    // MARK: Local socket

    /// Binds the local socket; it is read only once the session is open.
    func attach(localChannel: Channel) {
        self.localChannel = localChannel
        self.logger[metadataKey: "local"] = "\(Self.describe(localChannel.remoteAddress))"
    }

    /// Data may flow: send what was read while opening, then read the local socket.
    func open() {
        let actions = self.lifecycle.opened(pendingBytes: self.send.pendingBytes)
        guard !actions.isEmpty else { return }  // not opening: a repeated or late `opened`
        self.logger.info("session opened (window \(self.configuration.windowBytes >> 10) KiB each way)")
        self.run(actions)
    }

    /// The local channel became active (registered): a read asked for before is done now.
    func localChannelActive() {
        self.run(self.lifecycle.socketBecameActive())
    }

    /// Bytes from the local socket. `drained` is whether the read left the socket empty. Bytes
    /// read before the session opened (NIO reads when the application half-closes, even with
    /// reads off) are kept and sent once it opens.
    func localRead(_ buffer: ByteBuffer, drained: Bool) {
        guard !self.isEnded else { return }
        self.send.append(buffer)
        self.link.counters.values.bytesSent += buffer.readableBytes
        self.lastReadDrained = drained
        self.bytesReadInCycle += buffer.readableBytes
    }

    /// A read cycle of the local socket ended.
    func localReadComplete() {
        guard self.phase == .open else { return }
        let now = self.now
        self.pack(includeTail: false, now: now)
        let bytesRead = self.bytesReadInCycle
        self.bytesReadInCycle = 0
        self.perform(
            self.scheduler.readCycleEnded(
                drained: self.lastReadDrained,
                bytesRead: bytesRead,
                allowance: self.send.readAllowance,
                inFlightBytes: self.send.unacknowledgedBytes,
                now: now
            )
        )
    }

    /// The local side shut its output (EOF): this direction ends.
    func localInputClosed() {
        self.run(self.lifecycle.localInputClosed())
    }

    func closeGroupAtEnd() {
        if let closed = self.fecAssembler?.closeOpenGroup() {
            self.sendParity(closed)
            self.link.dispatcher.drain()
        }
    }

    /// The local socket failed or closed under us, or the session cannot open.
    func localChannelFailed(_ reason: SessionEndReason) {
        self.abort(reason, notifyPeer: true)
    }

    /// The local socket closed without an error (`SessionLifecycle.localSocketClosed`).
    func localChannelClosed() {
        self.run(
            self.lifecycle.localSocketClosed(
                receiveConsumed: self.receive.isConsumed,
                undeliveredBytes: self.receive.deliveredOffset - self.receive.consumedOffset
            )
        )
    }

    /// Runs `body` at `deadline` unless the session ended by then. The task holds the session
    /// strongly (until it runs, or `end()` cancels it): a weak reference would move the session's
    /// reference count to a side table, and every payload retains the session a few times.
    func schedule(at deadline: NIODeadline, _ body: @escaping (TunnelSession) -> Void) -> Scheduled<Void> {
        self.link.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            guard !self.isEnded else { return }
            body(self)
        }
    }
}
