import Logging
import NIOCore
import TCSplitterCore
import TCSplitterFEC

/// One tunnelled connection on one end: the local socket (the application's on the client, the
/// `--forward` service's on the server) and both directions of its stream.
///
/// Thin glue over the Core state machines: `SendStream` + `TickTockScheduler` pack what the local
/// socket gives into payloads; `ReceiveStream` + `SteadyRateBuffer` put the peer's payloads back
/// in order and release them to the local socket; `ProgressReporter` acknowledges. The session
/// ends when both directions are complete (every byte written and acknowledged, both half-closes
/// delivered), or with an error that is logged and sent to the peer as `reset`.
///
/// FEC and retries live in `TunnelSession+FEC.swift` and `TunnelSession+Retries.swift`; the
/// session's state is module-internal so those extensions can reach it. Only this type touches it.
final class TunnelSession {
    enum Phase {
        /// Waiting for the server's `opened`: nothing is read locally yet.
        case opening
        /// Data flows.
        case open
        /// Done; its state is gone from the link.
        case ended
    }

    let id: SessionID
    /// Client: where the session asks the server to go (a transparent connection's original
    /// destination), or `nil` for the server's `--forward`.
    var destination: SessionDestination?
    /// Client: the message that opens the session (repeated on resync).
    var openRequest: ControlMessage { self.destination.map { .openTo(self.id, $0) } ?? .open(self.id) }
    unowned let link: TunnelLink
    let configuration: TunnelConfiguration
    var logger: Logger
    private(set) var phase = Phase.opening
    var localChannel: Channel?
    var send: SendStream
    var scheduler: TickTockScheduler
    var receive: ReceiveStream
    var forwarder: SteadyRateBuffer
    var reporter: ProgressReporter
    var lastReadDrained = true
    var bytesReadInCycle = 0
    var finishSent = false
    var localOutputShut = false
    var localInputEnded = false
    var sentOffset: UInt64 = 0
    var tickTimer: Scheduled<Void>?
    var tockTimer: Scheduled<Void>?
    var releaseTimer: Scheduled<Void>?
    var writesInFlight = 0
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
    /// The reason sent to the peer in a `reset`, once one was sent.
    var resetSent: String?
    /// A read was asked for before the local channel was active; `localChannelActive` does it.
    var readWhenActive = false
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

    /// Whether the session is over (its queued payloads are dropped).
    var isEnded: Bool { self.phase == .ended }

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
        guard self.phase == .opening else { return }
        self.phase = .open
        self.logger.info("session opened")
        let now = NIODeadline.now()
        if self.send.pendingBytes > 0 || self.localInputEnded {
            self.pack(includeTail: self.localInputEnded, now: now)
        }
        if self.localInputEnded {
            self.closeGroupAtEnd()
            self.checkProgress()
        } else {
            self.perform(self.scheduler.start(allowance: self.send.readAllowance))
        }
    }

    /// The local channel became active (registered): a read asked for before is done now.
    func localChannelActive() {
        guard self.readWhenActive, self.phase != .ended else { return }
        self.readWhenActive = false
        self.localChannel?.read()
    }

    /// Bytes from the local socket. `drained` is whether the read left the socket empty. Bytes
    /// read before the session opened (NIO reads when the application half-closes, even with
    /// reads off) are kept and sent once it opens.
    func localRead(_ buffer: ByteBuffer, drained: Bool) {
        guard self.phase != .ended else { return }
        self.send.append(buffer)
        self.link.counters.values.bytesSent += buffer.readableBytes
        self.lastReadDrained = drained
        self.bytesReadInCycle += buffer.readableBytes
    }

    /// A read cycle of the local socket ended.
    func localReadComplete() {
        guard self.phase == .open else { return }
        let now = NIODeadline.now()
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
        guard self.phase != .ended, !self.localInputEnded else { return }
        self.localInputEnded = true
        self.send.endInput()
        guard self.phase == .open else { return }  // packed and finished once the session opens
        self.pack(includeTail: true, now: .now())
        self.closeGroupAtEnd()
        self.checkProgress()
    }

    func closeGroupAtEnd() {
        if let closed = self.fecAssembler?.closeOpenGroup() {
            self.sendParity(closed)
            self.link.dispatcher.drain()
        }
    }

    /// The local socket failed or closed under us, or the session cannot open.
    func localChannelFailed(_ reason: SessionEndReason) {
        guard self.phase != .ended else { return }
        self.abort(reason, notifyPeer: true)
    }

    /// The local socket closed without an error. When its output was already shut, NIO folds the
    /// peer's FIN into the close (no separate end-of-input event): every byte was read, so that is
    /// the end of input. A close before that, or with bytes still to deliver, cuts the session.
    func localChannelClosed() {
        guard self.phase != .ended else { return }
        if !self.localInputEnded {
            guard self.localOutputShut else {
                self.abort(.localClosedEarly(undeliveredBytes: 0), notifyPeer: true)
                return
            }
            self.localInputClosed()
        }
        guard self.localOutputShut || self.receive.isConsumed else {
            self.abort(
                .localClosedEarly(undeliveredBytes: self.receive.deliveredOffset - self.receive.consumedOffset),
                notifyPeer: true
            )
            return
        }
        self.checkProgress()
    }

    // MARK: From the peer

    /// A payload of this session arrived.
    func received(payload: PayloadFrame) {
        guard self.phase != .ended else { return }
        let now = NIODeadline.now()
        if payload.header.flags.contains(.parity) {
            self.receivedParity(payload, now: now)
            return
        }
        let rebuild = payload.header.dataShards > 0 ? self.fecCollector?.data(payload.header, payload.data) : nil
        defer { if let rebuild { self.rebuild(rebuild, now: now) } }
        if payload.header.flags.contains(.push) {
            let end = payload.header.offset + UInt64(payload.data.readableBytes)
            self.pushPendingUpTo = max(self.pushPendingUpTo ?? 0, end)
        }
        do {
            let ready = try self.receive.receive(
                offset: payload.header.offset,
                data: payload.data,
                isEndOfStream: payload.header.flags.contains(.endOfStream),
                now: now
            )
            if !ready.isEmpty { self.forward(self.forwarder.enqueue(ready, push: self.takePush(), now: now), now: now) }
            self.receiveMaybeComplete(now: now)
        } catch {
            self.abort(.peerBrokeStream("\(error)"), notifyPeer: true)
        }
    }

    /// A control message about this session arrived.
    func received(control message: ControlMessage) {
        guard self.phase != .ended else { return }
        let now = NIODeadline.now()
        do {
            switch message {
            case .opened:
                self.open()
            case .openFailed(_, let reason):
                // A reset, as a refused connection would give the application.
                self.logger.warning("session refused by the server: \(reason)")
                self.end(.refusedByServer(reason))
            case .finish(_, let final):
                try self.receive.setFinalOffset(final, now: now)
                self.receiveMaybeComplete(now: now)
            case .progress(_, let received, let sent, let selective):
                try self.receive.peerSent(upTo: sent, now: now)
                self.retransmit?.acknowledge(upTo: received)
                if !selective.isEmpty { self.retransmit?.acknowledgeSelectively(selective) }
                let ackedBefore = self.send.ackedOffset
                if try self.send.acknowledge(upTo: received) {
                    self.link.counters.values.bytesAcknowledged += Int(self.send.ackedOffset - ackedBefore)
                    // With nothing left in flight a waiting tail goes now (`pack` sees the empty
                    // flight), and so does a read waiting for the tick.
                    if self.send.pendingBytes > 0 { self.pack(includeTail: false, now: now) }
                    if self.send.unacknowledgedBytes == 0 {
                        let waits = self.scheduler.flightEmptied(allowance: self.send.readAllowance)
                        if waits.read != .none { self.tickTimer?.cancel() }
                        self.perform(waits.read)
                    }
                    self.perform(self.scheduler.windowOpened(allowance: self.send.readAllowance))
                }
                self.checkProgress()
            case .reset(_, let reason):
                self.logger.info("session reset by the peer: \(reason)", metadata: self.endMetadata)
                self.end(.resetByPeer(reason))
            case .resend(_, let ranges):
                self.resendRequested(ranges)
            case .open, .openTo, .ping, .pong, .replace:
                break
            }
        } catch {
            self.abort(.peerBrokeStream("\(error)"), notifyPeer: true)
        }
    }

    /// A payload of this session was written to data connection `carrier` (its serial).
    func payloadSent(offset: UInt64, end: UInt64, carrier: UInt64) {
        self.sentOffset = max(self.sentOffset, end)
        self.retransmit?.sent(offset: offset, on: carrier, now: .now())
    }

    /// Whether a `push` payload's bytes are now all delivered in order (and forgets it if so).
    func takePush() -> Bool {
        guard let end = self.pushPendingUpTo, self.receive.deliveredOffset >= end else { return false }
        self.pushPendingUpTo = nil
        return true
    }

    /// Called periodically: retries, stalls and probes. `retryTimeout` follows the round trip.
    func housekeeping(now: NIODeadline, retryTimeout: TimeAmount) {
        guard self.phase != .ended else { return }
        if self.retry != nil { self.checkGaps(now: now, timeout: retryTimeout) }
        if self.datagram != nil {
            if self.expireIfIdle(now: now) { return }
            self.checkDatagramGaps(now: now, retryTimeout: retryTimeout)
        }
        self.fecCollector?.forget(deliveredUpTo: self.receive.deliveredOffset)
        if self.receive.isStalled(now: now, timeout: self.configuration.stallTimeout) {
            let gap = self.receive.firstGap.map { "\($0.lowerBound)..<\($0.upperBound)" } ?? "?"
            self.abort(
                .stalled(
                    "bytes \(gap) did not arrive within \(self.configuration.stallTimeout.milliseconds) ms: a payload was lost with its connection (use --retries or --fec to recover) [delivered \(self.receive.deliveredOffset), consumed \(self.receive.consumedOffset), stashed \(self.receive.stashedBytes), duplicates \(self.receive.duplicatePayloads), orphans \(self.link.orphanPayloads)\(self.fecCollector.map { ", fec groups rebuilt \($0.rebuiltGroups), rejected \($0.rejectedGroups), held \($0.heldGroups); \($0.describe(offset: self.receive.deliveredOffset))" } ?? "")]"
                ),
                notifyPeer: true
            )
            return
        }
        self.reportIfDue(now: now)
        self.reportIfStalled(now: now)
    }

    /// The sync connection stayed down past its grace time: the session cannot go on.
    func syncLost() {
        self.abort(.syncLost, notifyPeer: false)
    }

    /// A (new) sync connection is up: repeat what the peer may have missed on the old one. Every
    /// message is idempotent: open/opened, finish with the same offset, cumulative progress.
    func resync(isClient: Bool) {
        guard self.phase != .ended else { return }
        if isClient && self.phase == .opening { self.link.sendControl(self.openRequest) }
        if !isClient && self.phase == .open { self.link.sendControl(.opened(self.id)) }
        if self.finishSent { self.link.sendControl(self.finishMessage) }
        self.sendProgress(now: .now())
    }

    /// Stop and end at once (shutdown).
    func shutdown() {
        self.abort(.shutdown, notifyPeer: true)
    }

    // MARK: Sending

    func pack(includeTail: Bool, now: NIODeadline) {
        self.send.largeCutBytes = self.configuration.largeCutBytes(onFastPath: self.link.budgetScaler.isFastPath)
        // Sent before this burst and not acknowledged: with adaptive clocks a burst behind an
        // empty flight goes whole, and its last payload carries `push`.
        let inFlight = self.send.unacknowledgedBytes
        var payloads = self.send.takePayloads(includeTail: includeTail)
        switch self.scheduler.packed(tailBytes: self.send.pendingBytes, inFlightBytes: inFlight, now: now) {
        case .flushNow:
            self.tockTimer?.cancel()
            self.tockTimer = nil
            payloads += self.send.takePayloads(includeTail: true)
        case .flushAt(let deadline):
            self.tockTimer?.cancel()
            self.tockTimer = self.schedule(at: deadline) { session in
                session.tockTimer = nil
                if session.scheduler.tockFired() == .flushNow { session.pack(includeTail: true, now: .now()) }
            }
        case .none:
            break
        }
        let push = self.scheduler.sendsWhole(inFlightBytes: inFlight) && self.send.pendingBytes == 0
        for (index, payload) in payloads.enumerated() {
            var header = PayloadHeader(sessionID: self.id, offset: payload.offset)
            if payload.isEndOfStream { header.flags.insert(.endOfStream) }
            if push && index == payloads.count - 1 { header.flags.insert(.push) }
            self.retransmit?.keep(payload)
            var closed: FECGroupAssembler.ClosedGroup? = nil
            if self.fecAssembler != nil {
                let placed = self.fecAssembler!.add(payload)
                header.group = placed.header.group
                header.shardIndex = placed.header.shardIndex
                header.dataShards = placed.header.dataShards
                header.parityShards = placed.header.parityShards
                closed = placed.closed
            }
            self.link.dispatcher.enqueue(session: self, header: header, data: payload.data)
            if let closed { self.sendParity(closed) }
        }
        self.scheduleGroupClose(now: now)
        if !payloads.isEmpty { self.link.dispatcher.drain() }
        if self.send.endOfStreamPacked && !self.finishSent {
            self.finishSent = true
            self.link.sendControl(self.finishMessage)
        }
    }

    func perform(_ action: TickTockScheduler.ReadAction) {
        switch action {
        case .readNow:
            guard let channel = self.localChannel else { return }
            // NIO drops a read asked for before an accepted channel is registered (it marks the
            // read pending but never watches the socket, and activation reads only with autoRead
            // on). The server's `opened` can arrive in the same event-loop pass as the accept,
            // before the registration NIO defers to a task: the read then waits for activation.
            if channel.isActive {
                channel.read()
            } else {
                self.readWhenActive = true
            }
        case .readAt(let deadline):
            self.tickTimer?.cancel()
            self.tickTimer = self.schedule(at: deadline) { session in
                session.tickTimer = nil
                session.perform(session.scheduler.tickFired(allowance: session.send.readAllowance))
            }
        case .none:
            break
        }
    }

    // MARK: Receiving

    func forward(_ release: SteadyRateBuffer.Release, now: NIODeadline) {
        if !release.buffers.isEmpty { self.writeToLocal(release.buffers) }
        if let next = release.nextRelease, self.phase != .ended {
            self.releaseTimer?.cancel()
            self.releaseTimer = self.schedule(at: next) { session in
                session.releaseTimer = nil
                let now = NIODeadline.now()
                session.forward(session.forwarder.releaseDue(now: now), now: now)
            }
        }
    }

    func receiveMaybeComplete(now: NIODeadline) {
        if self.receive.isComplete && !self.forwarder.isEmpty {
            self.forward(self.forwarder.endInput(), now: now)
        }
        self.checkProgress()
    }

    func writeToLocal(_ buffers: [ByteBuffer]) {
        if self.datagram != nil {
            self.deliverDatagrams(buffers)
            return
        }
        guard self.localChannel != nil else {
            // Only a peer that sends before `opened` gets here: fail loudly rather than lose bytes.
            self.abort(.peerBrokeStream("data before the session was open"), notifyPeer: true)
            return
        }
        let wasEmpty = self.localBatch.isEmpty
        self.localBatch.append(contentsOf: buffers.lazy.filter { $0.readableBytes > 0 })
        guard wasEmpty, !self.localBatch.isEmpty else { return }
        // Counted from now, so the output is not shut while the batch waits for the pass to end.
        self.writesInFlight += 1
        self.link.eventLoop.assumeIsolated().execute {
            self.writesInFlight -= 1
            self.flushLocalBatch()
        }
    }

    /// Writes the bytes gathered by `writeToLocal` in this event-loop pass, with one flush; they
    /// count as consumed (and may be acknowledged) once the local socket has taken them.
    private func flushLocalBatch() {
        let buffers = self.localBatch
        self.localBatch.removeAll(keepingCapacity: true)
        guard self.phase != .ended, let channel = self.localChannel, let last = buffers.last else { return }
        let bytes = buffers.reduce(0) { $0 + $1.readableBytes }
        for buffer in buffers.dropLast() { channel.write(buffer, promise: nil) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(last, promise: promise)
        self.writesInFlight += 1
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.writesInFlight -= 1
            guard self.phase != .ended else { return }
            switch result {
            case .success:
                do {
                    try self.receive.consumed(bytes)
                    self.link.counters.values.bytesReceived += bytes
                } catch {
                    self.abort(.internalError("\(error)"), notifyPeer: true)
                    return
                }
                self.checkProgress()
            case .failure(let error):
                self.abort(.localFailed("writing to the local connection failed: \(error)"), notifyPeer: true)
            }
        }
    }

    // MARK: Progress and completion

    func checkProgress() {
        guard self.phase != .ended else { return }
        let now = NIODeadline.now()
        self.reportIfDue(now: now)
        if self.receive.isConsumed && !self.localOutputShut && self.writesInFlight == 0 && self.localChannel != nil {
            self.localOutputShut = true
            self.shutLocalOutput()
        }
        if self.finishSent && self.send.isComplete && self.localOutputShut && self.receive.isConsumed
            && self.writesInFlight == 0
        {
            self.end(.closed)
        }
    }

    func reportIfDue(now: NIODeadline) {
        let consumed = self.receive.consumedOffset
        guard
            self.reporter.shouldReport(
                consumed: consumed,
                delivered: self.receive.deliveredOffset,
                sent: self.sentOffset,
                acked: self.send.ackedOffset,
                now: now
            )
        else { return }
        self.sendProgress(now: now)
    }

    func sendProgress(now: NIODeadline) {
        let consumed = self.receive.consumedOffset
        self.reporter.reported(consumed: consumed, sent: self.sentOffset, now: now)
        let selective = self.retry == nil ? [] : self.receive.heldRanges(limit: WireConstants.maxSelectiveRanges)
        self.link.sendControl(
            .progress(self.id, receivedOffset: consumed, sentOffset: self.sentOffset, selective: selective)
        )
    }

    func shutLocalOutput() {
        guard let channel = self.localChannel else { return }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.close(mode: .output, promise: promise)
        promise.futureResult.assumeIsolated().whenFailure { error in
            // The application already closed its socket; nothing is left to deliver to it.
            self.logger.debug("local half-close failed: \(error)")
        }
    }

    /// Ends the session abortively for `reason`, logged; with `notifyPeer` the peer gets a
    /// `reset` naming it.
    func abort(_ reason: SessionEndReason, notifyPeer: Bool) {
        guard self.phase != .ended else { return }
        self.logger.warning("session aborted: \(reason)", metadata: self.endMetadata)
        if notifyPeer {
            self.resetSent = reason.description
            self.link.sendControl(.reset(self.id, reason: reason.description))
        }
        self.end(reason)
    }

    /// Ends the session for `reason`: an abortive reason resets the local connection, a clean
    /// one closes it. Counted by the reason's kind.
    func end(_ reason: SessionEndReason) {
        guard self.phase != .ended else { return }
        let abortive = reason.isAbortive
        self.link.counters.values.sessionsEnded[reason.kind, default: 0] += 1
        let wasOpen = self.phase == .open
        self.phase = .ended
        for timer in [self.tickTimer, self.tockTimer, self.releaseTimer, self.groupTimer] { timer?.cancel() }
        if let channel = self.localChannel {
            if abortive {
                channel.closeWithReset()
            } else {
                channel.close(promise: nil)
            }
        }
        self.link.sessionEnded(self, farewell: self.farewell(abortive: abortive))
        self.datagramSessionEnded()
        if abortive {
            self.link.counters.values.sessionsAborted += 1
        } else {
            self.link.counters.values.sessionsClosed += 1
        }
        if wasOpen && !abortive {
            self.logger.info("session closed", metadata: self.endMetadata)
        }
    }

    /// This direction's end (half-close) at the final packed offset; sent once the end of the
    /// stream is packed, and repeated on resync and after the session ended.
    var finishMessage: ControlMessage { .finish(self.id, finalOffset: self.send.packedOffset) }

    /// The last messages the peer must get even if the sync connection dies with them: a sent
    /// `reset`; after a clean end the `finish` and the final acknowledgement (the peer's session
    /// may still wait for either, and this one's state is gone once it ends).
    func farewell(abortive: Bool) -> [ControlMessage] {
        if let reason = self.resetSent { return [.reset(self.id, reason: reason)] }
        guard !abortive else { return [] }
        var messages: [ControlMessage] = []
        if self.finishSent { messages.append(self.finishMessage) }
        messages.append(.progress(self.id, receivedOffset: self.receive.consumedOffset, sentOffset: self.sentOffset))
        return messages
    }

    /// Runs `body` at `deadline` unless the session ended by then. The task holds the session
    /// strongly (until it runs, or `end()` cancels it): a weak reference would move the session's
    /// reference count to a side table, and every payload retains the session a few times.
    func schedule(at deadline: NIODeadline, _ body: @escaping (TunnelSession) -> Void) -> Scheduled<Void> {
        self.link.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            guard self.phase != .ended else { return }
            body(self)
        }
    }
}
