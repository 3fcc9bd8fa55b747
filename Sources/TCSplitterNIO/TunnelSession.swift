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
    private unowned let link: TunnelLink
    private let configuration: TunnelConfiguration
    private var logger: Logger
    private(set) var phase = Phase.opening
    private var localChannel: Channel?
    private var send: SendStream
    private var scheduler: TickTockScheduler
    private var receive: ReceiveStream
    private var forwarder: SteadyRateBuffer
    private var reporter: ProgressReporter
    private var lastReadDrained = true
    private var bytesReadInCycle = 0
    private var finishSent = false
    private var localOutputShut = false
    private var localInputEnded = false
    private var sentOffset: UInt64 = 0
    private var tickTimer: Scheduled<Void>?
    private var tockTimer: Scheduled<Void>?
    private var releaseTimer: Scheduled<Void>?
    private var writesInFlight = 0
    private let openedAt: NIODeadline
    /// With `--retries`: payloads sent and not yet acknowledged, for resending.
    private var retransmit: RetransmitBuffer?
    /// With `--retries`: the gaps to ask for again.
    private var retry: RetryTracker?
    /// With `--fec`: groups of outgoing payloads, and the shards of incoming groups.
    private var fecAssembler: FECGroupAssembler?
    private var fecCollector: FECShardCollector?
    private var groupTimer: Scheduled<Void>?

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
            bulkBytes: configuration.payloadBytes
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
        if configuration.retries {
            self.retransmit = RetransmitBuffer()
            self.retry = RetryTracker(skipAfter: configuration.retrySkip >= 0 ? configuration.retrySkip : nil)
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
    }

    /// Data may flow: send what was read while opening, then read the local socket.
    func open() {
        guard self.phase == .opening else { return }
        self.phase = .open
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

    /// Bytes from the local socket. `drained` is whether the read left the socket empty. Bytes
    /// read before the session opened (NIO reads when the application half-closes, even with
    /// reads off) are kept and sent once it opens.
    func localRead(_ buffer: ByteBuffer, drained: Bool) {
        guard self.phase != .ended else { return }
        self.send.append(buffer)
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

    private func closeGroupAtEnd() {
        if let closed = self.fecAssembler?.closeOpenGroup() {
            self.sendParity(closed)
            self.link.dispatcher.drain()
        }
    }

    /// The local socket failed or closed under us.
    func localChannelFailed(_ reason: String) {
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
                self.abort("local connection closed before its input ended", notifyPeer: true)
                return
            }
            self.localInputClosed()
        }
        guard self.localOutputShut || self.receive.isConsumed else {
            self.abort(
                "local connection closed with \(self.receive.deliveredOffset - self.receive.consumedOffset) bytes undelivered",
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
        do {
            let ready = try self.receive.receive(
                offset: payload.header.offset,
                data: payload.data,
                isEndOfStream: payload.header.flags.contains(.endOfStream),
                now: now
            )
            if !ready.isEmpty { self.forward(self.forwarder.enqueue(ready, now: now), now: now) }
            self.receiveMaybeComplete(now: now)
        } catch {
            self.abort("peer broke the stream: \(error)", notifyPeer: true)
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
                self.logger.warning("session refused by the server: \(reason)")
                self.end(notifyPeer: false)
            case .finish(_, let final):
                try self.receive.setFinalOffset(final, now: now)
                self.receiveMaybeComplete(now: now)
            case .progress(_, let received, let sent, let selective):
                try self.receive.peerSent(upTo: sent, now: now)
                self.retransmit?.acknowledge(upTo: received)
                if !selective.isEmpty { self.retransmit?.acknowledgeSelectively(selective) }
                if try self.send.acknowledge(upTo: received) {
                    if self.send.pendingBytes > 0 { self.pack(includeTail: false, now: now) }
                    self.perform(self.scheduler.windowOpened(allowance: self.send.readAllowance))
                }
                self.checkProgress()
            case .reset(_, let reason):
                self.logger.info("session reset by the peer: \(reason)")
                self.end(notifyPeer: false, abortive: true)
            case .resend(_, let ranges):
                self.resend(ranges)
            case .open, .ping, .pong:
                break
            }
        } catch {
            self.abort("peer broke the stream: \(error)", notifyPeer: true)
        }
    }

    /// A payload of this session was written to a data connection.
    func payloadSent(end: UInt64) {
        self.sentOffset = max(self.sentOffset, end)
    }

    /// Called periodically: retries, stalls and probes. `retryTimeout` follows the round trip.
    func housekeeping(now: NIODeadline, retryTimeout: TimeAmount) {
        guard self.phase != .ended else { return }
        if self.retry != nil { self.checkGaps(now: now, timeout: retryTimeout) }
        self.fecCollector?.forget(deliveredUpTo: self.receive.deliveredOffset)
        if self.receive.isStalled(now: now, timeout: self.configuration.stallTimeout) {
            let gap = self.receive.firstGap.map { "\($0.lowerBound)..<\($0.upperBound)" } ?? "?"
            self.abort(
                "bytes \(gap) did not arrive within \(self.configuration.stallTimeout.milliseconds) ms: a payload was lost with its connection (use --retries or --fec to recover) [delivered \(self.receive.deliveredOffset), consumed \(self.receive.consumedOffset), stashed \(self.receive.stashedBytes), duplicates \(self.receive.duplicatePayloads), orphans \(self.link.orphanPayloads)\(self.fecCollector.map { ", fec groups rebuilt \($0.rebuiltGroups), rejected \($0.rejectedGroups), held \($0.heldGroups); \($0.describe(offset: self.receive.deliveredOffset))" } ?? "")]",
                notifyPeer: true
            )
            return
        }
        self.reportIfDue(now: now)
    }

    /// The sync connection stayed down past its grace time: the session cannot go on.
    func syncLost() {
        self.abort("sync connection lost", notifyPeer: false)
    }

    /// A (new) sync connection is up: repeat what the peer may have missed on the old one. Every
    /// message is idempotent: open/opened, finish with the same offset, cumulative progress.
    func resync(isClient: Bool) {
        guard self.phase != .ended else { return }
        if isClient && self.phase == .opening { self.link.sendControl(.open(self.id)) }
        if !isClient && self.phase == .open { self.link.sendControl(.opened(self.id)) }
        if self.finishSent { self.link.sendControl(.finish(self.id, finalOffset: self.send.packedOffset)) }
        self.sendProgress(now: .now())
    }

    /// Stop and end at once (shutdown).
    func shutdown() {
        self.abort("the tunnel end is stopping", notifyPeer: true)
    }

    // MARK: FEC

    /// A group left open with no bytes waiting closes at the tock (at once with tock 0), so a
    /// quiet stream is never held back waiting for a full group.
    private func scheduleGroupClose(now: NIODeadline) {
        guard let assembler = self.fecAssembler, assembler.hasOpenGroup, self.send.pendingBytes == 0,
            self.groupTimer == nil
        else { return }
        guard self.configuration.tockInterval > .zero, !self.send.inputEnded else {
            if let closed = self.fecAssembler!.closeOpenGroup() {
                self.sendParity(closed)
                self.link.dispatcher.drain()
            }
            return
        }
        self.groupTimer = self.schedule(at: now + self.configuration.tockInterval) { session in
            session.groupTimer = nil
            if let closed = session.fecAssembler?.closeOpenGroup() {
                session.sendParity(closed)
                session.link.dispatcher.drain()
            }
        }
    }

    private func sendParity(_ group: FECGroupAssembler.ClosedGroup) {
        let parityCount = self.configuration.fecParityShards
        guard parityCount > 0, let codec = self.link.codec(dataShards: group.data.count, parityShards: parityCount)
        else { return }
        let size = group.shardBytes
        var shards = group.data
        if var last = shards.last, last.readableBytes < size {
            var padded = ByteBuffer()
            padded.reserveCapacity(size)
            padded.writeBuffer(&last)
            padded.writeRepeatingByte(0, count: size - padded.readableBytes)
            shards[shards.count - 1] = padded
        }
        let parity: [ByteBuffer]
        do {
            parity = try codec.encodeParity(data: shards, shardBytes: size, allocator: ByteBufferAllocator())
        } catch {
            self.logger.error("FEC encode failed: \(error)")
            return
        }
        for (index, var shard) in parity.enumerated() {
            var data = ByteBuffer()
            data.reserveCapacity(4 + size)
            data.writeInteger(UInt32(group.lastShardBytes))
            data.writeBuffer(&shard)
            let header = PayloadHeader(
                sessionID: self.id,
                offset: group.startOffset,
                group: group.group,
                shardIndex: UInt8(group.data.count + index),
                dataShards: UInt8(group.data.count),
                parityShards: UInt8(parityCount),
                flags: .parity
            )
            self.link.dispatcher.enqueue(session: self, header: header, data: data)
        }
    }

    private func receivedParity(_ payload: PayloadFrame, now: NIODeadline) {
        // Parity of a group the window does not reach yet, or long delivered, is of no use.
        let limit = self.receive.consumedOffset + UInt64(self.configuration.windowBytes)
        guard payload.header.offset < limit, let rebuild = self.fecCollector?.parity(payload.header, payload.data)
        else { return }
        self.rebuild(rebuild, now: now)
    }

    private func rebuild(_ request: FECShardCollector.Rebuild, now: NIODeadline) {
        guard self.phase != .ended,
            let codec = self.link.codec(dataShards: request.dataCount, parityShards: request.parityCount)
        else { return }
        var shards = request.shards
        let lastIndex = request.dataCount - 1
        if var last = shards[lastIndex], last.readableBytes < request.shardBytes {
            var padded = ByteBuffer()
            padded.reserveCapacity(request.shardBytes)
            padded.writeBuffer(&last)
            padded.writeRepeatingByte(0, count: request.shardBytes - padded.readableBytes)
            shards[lastIndex] = padded
        }
        let data: [ByteBuffer]
        do {
            data = try codec.reconstructData(shards: shards, shardBytes: request.shardBytes, allocator: ByteBufferAllocator())
        } catch {
            self.logger.debug("FEC could not rebuild group \(request.group): \(error)")
            return
        }
        for index in 0..<request.dataCount where request.shards[index] == nil {
            let range = request.range(ofDataShard: index)
            guard var shard = data[index].getSlice(at: data[index].readerIndex, length: Int(range.count)) else { continue }
            shard.moveReaderIndex(to: shard.readerIndex)
            do {
                let ready = try self.receive.receive(offset: range.lowerBound, data: shard, now: now)
                if !ready.isEmpty { self.forward(self.forwarder.enqueue(ready, now: now), now: now) }
            } catch {
                // A rebuilt shard outside the window or past the end: the group was forged.
                self.logger.debug("FEC rebuilt shard refused: \(error)")
            }
        }
        self.receiveMaybeComplete(now: now)
    }

    // MARK: Retries

    /// A data connection that carried payloads at these offsets died mid-stream: with retries,
    /// resend those still unacknowledged at once (the receiver drops duplicates by offset).
    func connectionLost(carrying offsets: [UInt64]) {
        guard self.phase != .ended, self.retransmit != nil else { return }
        let acked = self.send.ackedOffset
        let ranges = offsets.filter { $0 >= acked }.sorted().map { $0..<($0 + 1) }
        guard !ranges.isEmpty else { return }
        self.resend(ranges)
    }

    private func resend(_ ranges: [Range<UInt64>]) {
        guard var retransmit = self.retransmit else { return }
        let payloads = retransmit.payloads(overlapping: ranges)
        self.retransmit = retransmit
        guard !payloads.isEmpty else { return }
        self.logger.debug("resending", metadata: ["ranges": "\(ranges)", "payloads": "\(payloads.count)"])
        for payload in payloads.reversed() {
            var header = PayloadHeader(sessionID: self.id, offset: payload.offset)
            if payload.isEndOfStream { header.flags.insert(.endOfStream) }
            self.link.dispatcher.enqueue(session: self, header: header, data: payload.data, urgent: true)
        }
        self.link.dispatcher.drain()
    }

    private func checkGaps(now: NIODeadline, timeout: TimeAmount) {
        guard var retry = self.retry else { return }
        let missing = self.receive.missingRanges()
        let actions = retry.update(missing: missing, now: now, timeout: timeout)
        self.retry = retry
        for action in actions {
            switch action {
            case .requestResend(let ranges):
                self.link.sendControl(.resend(self.id, ranges: ranges))
            case .skip(let range):
                self.logger.warning(
                    "skipped bytes \(range.lowerBound)..<\(range.upperBound) (\(range.upperBound - range.lowerBound) bytes lost; --retries skip)"
                )
                let ready = self.receive.skip(upTo: range.upperBound, now: now)
                if !ready.isEmpty { self.forward(self.forwarder.enqueue(ready, now: now), now: now) }
                self.receiveMaybeComplete(now: now)
            }
        }
    }

    // MARK: Sending

    private func pack(includeTail: Bool, now: NIODeadline) {
        var payloads = self.send.takePayloads(includeTail: includeTail)
        switch self.scheduler.packed(tailBytes: self.send.pendingBytes, now: now) {
        case .flushNow:
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
        for payload in payloads {
            var header = PayloadHeader(sessionID: self.id, offset: payload.offset)
            if payload.isEndOfStream { header.flags.insert(.endOfStream) }
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
            self.link.sendControl(.finish(self.id, finalOffset: self.send.packedOffset))
        }
    }

    private func perform(_ action: TickTockScheduler.ReadAction) {
        switch action {
        case .readNow:
            self.localChannel?.read()
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

    private func forward(_ release: SteadyRateBuffer.Release, now: NIODeadline) {
        if !release.buffers.isEmpty { self.writeToLocal(release.buffers) }
        if let next = release.nextRelease {
            self.releaseTimer?.cancel()
            self.releaseTimer = self.schedule(at: next) { session in
                session.releaseTimer = nil
                let now = NIODeadline.now()
                session.forward(session.forwarder.releaseDue(now: now), now: now)
            }
        }
    }

    private func receiveMaybeComplete(now: NIODeadline) {
        if self.receive.isComplete && !self.forwarder.isEmpty {
            self.forward(self.forwarder.endInput(), now: now)
        }
        self.checkProgress()
    }

    private func writeToLocal(_ buffers: [ByteBuffer]) {
        guard let channel = self.localChannel else {
            // Only a peer that sends before `opened` gets here: fail loudly rather than lose bytes.
            self.abort("the peer sent data before the session was open", notifyPeer: true)
            return
        }
        let bytes = buffers.reduce(0) { $0 + $1.readableBytes }
        guard bytes > 0 else { return }
        for buffer in buffers.dropLast() { channel.write(buffer, promise: nil) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(buffers.last!, promise: promise)
        self.writesInFlight += 1
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.writesInFlight -= 1
            guard self.phase != .ended else { return }
            switch result {
            case .success:
                do {
                    try self.receive.consumed(bytes)
                } catch {
                    self.abort("internal accounting error: \(error)", notifyPeer: true)
                    return
                }
                self.checkProgress()
            case .failure(let error):
                self.abort("writing to the local connection failed: \(error)", notifyPeer: true)
            }
        }
    }

    // MARK: Progress and completion

    private func checkProgress() {
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
            self.end(notifyPeer: false)
        }
    }

    private func reportIfDue(now: NIODeadline) {
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

    private func sendProgress(now: NIODeadline) {
        let consumed = self.receive.consumedOffset
        self.reporter.reported(consumed: consumed, sent: self.sentOffset, now: now)
        let selective = self.retry == nil ? [] : self.receive.heldRanges(limit: WireConstants.maxSelectiveRanges)
        self.link.sendControl(
            .progress(self.id, receivedOffset: consumed, sentOffset: self.sentOffset, selective: selective)
        )
    }

    private func shutLocalOutput() {
        guard let channel = self.localChannel else { return }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.close(mode: .output, promise: promise)
        promise.futureResult.assumeIsolated().whenFailure { error in
            // The application already closed its socket; nothing is left to deliver to it.
            self.logger.debug("local half-close failed: \(error)")
        }
    }

    private func abort(_ reason: String, notifyPeer: Bool) {
        guard self.phase != .ended else { return }
        self.logger.warning("session aborted: \(reason)")
        if notifyPeer { self.link.sendControl(.reset(self.id, reason: reason)) }
        self.end(notifyPeer: false, abortive: true)
    }

    private func end(notifyPeer: Bool, abortive: Bool = false) {
        guard self.phase != .ended else { return }
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
        self.link.sessionEnded(self)
        if wasOpen && !abortive {
            self.logger.info(
                "session closed",
                metadata: [
                    "sent": "\(self.send.packedOffset)", "received": "\(self.receive.consumedOffset)",
                    "ms": "\((NIODeadline.now() - self.openedAt).milliseconds)",
                ]
            )
        }
    }

    private func schedule(at deadline: NIODeadline, _ body: @escaping (TunnelSession) -> Void) -> Scheduled<Void>? {
        guard let loop = self.link.eventLoop as EventLoop? else { return nil }
        return loop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self, self.phase != .ended else { return }
            body(self)
        }
    }
}
