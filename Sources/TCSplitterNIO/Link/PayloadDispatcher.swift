import NIOCore
import TCSplitterCore

/// Hands payloads to data connections, as `DispatcherChoice` picks them.
///
/// Payloads wait here, in order, while no connection can take one (all congested, spent or still
/// dialing); the bytes waiting are bounded by the sessions' send windows. Writes are batched and
/// each touched connection is flushed once per drain.
final class PayloadDispatcher {
    private struct Pending {
        let session: TunnelSession
        let header: PayloadHeader
        let data: ByteBuffer
    }

    private var queue = CircularBuffer<Pending>(initialCapacity: 64)
    private(set) var connections: [TunnelConnectionHandler] = []
    /// Changes whenever `connections` does, so a drain knows its candidates went stale.
    private var connectionsVersion = 0
    private var choice = DispatcherChoice(burstBytes: PayloadDispatcher.burstBytes)
    /// Bytes one connection takes in a row within a drain (see `DispatcherChoice`).
    static let burstBytes = 64 << 10
    private var draining = false
    /// The event loop, for the timer that ends a wait for a fresh connection.
    private let eventLoop: EventLoop
    private var freshConnectionTimer: Scheduled<Void>?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// FEC shards placed on a connection that already carried a shard of their group.
    var doubledShards: Int { self.choice.doubledShards }
    private var drainAgain = false
    /// Bytes of payload data waiting for a connection.
    private(set) var queuedBytes = 0

    /// Payloads waiting for a connection.
    var queuedPayloads: Int { self.queue.count }

    /// Adds a ready data connection this end may send on.
    func add(_ connection: TunnelConnectionHandler) {
        guard !self.connections.contains(where: { $0 === connection }) else { return }
        self.connections.append(connection)
        self.connectionsVersion &+= 1
        self.drain()
    }

    /// Removes a connection that retired or closed.
    func remove(_ connection: TunnelConnectionHandler) {
        self.connections.removeAll { $0 === connection }
        self.connectionsVersion &+= 1
    }

    /// The head shard would have to share a connection with its group: drain again when its
    /// wait for a fresh connection is over.
    private func drainAfterFreshConnectionWait() {
        guard self.freshConnectionTimer == nil else { return }
        self.freshConnectionTimer = self.eventLoop.assumeIsolated().scheduleTask(
            in: DispatcherChoice.freshConnectionWait
        ) {
            self.freshConnectionTimer = nil
            self.drain()
        }
    }

    /// Queues a payload of `session`; an `urgent` one (a resend the receiver is waiting for) goes
    /// to the front. The caller drains.
    func enqueue(session: TunnelSession, header: PayloadHeader, data: ByteBuffer, urgent: Bool = false) {
        if urgent {
            self.queue.prepend(Pending(session: session, header: header, data: data))
        } else {
            self.queue.append(Pending(session: session, header: header, data: data))
        }
        self.queuedBytes += data.readableBytes
    }

    /// Drops the payloads of a session that ended.
    func discard(session: TunnelSession) {
        guard self.queue.contains(where: { $0.session === session }) else { return }
        let kept = self.queue.filter { $0.session !== session }
        self.queue = CircularBuffer(kept)
        self.queuedBytes = kept.reduce(0) { $0 + $1.data.readableBytes }
    }

    /// Sends queued payloads on the connections that can take them.
    ///
    /// A drain requested while one runs (a write or flush inside it made a connection writable
    /// again) is not dropped: it becomes another pass, or the queue could wait for an event that
    /// already happened.
    func drain() {
        guard !self.draining else {
            self.drainAgain = true
            return
        }
        self.draining = true
        defer { self.draining = false }
        repeat {
            self.drainAgain = false
            self.drainOnce()
        } while self.drainAgain && !self.queue.isEmpty
    }

    /// What `DispatcherChoice` sees of each connection, read once per drain and then kept up to
    /// date by the drain itself (asking every connection's channel for every payload cost more than
    /// the choice: an option lookup with a dynamic cast each).
    private func candidates() -> [DispatcherChoice.Candidate] {
        self.connections.map {
            DispatcherChoice.Candidate(
                canCarry: $0.canSend,
                isWritable: $0.isWritable,
                bufferedBytes: $0.bufferedBytes,
                rank: $0.dispatchRank,
                serial: $0.serial
            )
        }
    }

    private func drainOnce() {
        var touched: [TunnelConnectionHandler] = []
        var candidates = self.candidates()
        var connectionsVersion = self.connectionsVersion
        while let next = self.queue.first {
            if connectionsVersion != self.connectionsVersion {  // one was added or removed meanwhile
                candidates = self.candidates()
                connectionsVersion = self.connectionsVersion
                self.choice.endBurst()  // its index is a position in the old list
            }
            let group =
                next.header.dataShards > 0
                ? DispatcherChoice.ShardGroup(session: next.header.sessionID, group: next.header.group) : nil
            let frameBytes = WireConstants.payloadFrameHeaderBytes + next.data.readableBytes
            let placement = self.choice.place(
                &candidates, group: group, payloadBytes: frameBytes,
                now: self.eventLoop.now)
            guard case .send(let index) = placement else {
                if placement == .waitForFreshConnection { self.drainAfterFreshConnectionWait() }
                break
            }
            let connection = self.connections[index]
            guard connection.canSend else {  // changed without a word to the dispatcher: look again
                candidates[index].canCarry = false
                continue
            }
            self.queue.removeFirst()
            self.queuedBytes -= next.data.readableBytes
            self.choice.sent(on: connection.serial, group: next.session.isEnded ? nil : group)
            guard !next.session.isEnded else { continue }
            if !connection.needsFlush {
                connection.needsFlush = true
                touched.append(connection)
            }
            connection.send(payload: next.header, data: next.data)
            if connectionsVersion == self.connectionsVersion {
                candidates[index].canCarry = connection.canSend
                candidates[index].isWritable = connection.isWritable
                candidates[index].bufferedBytes += frameBytes
            }
            next.session.link.counters.values.payloadsSent += 1
            next.session.link.counters.values.wireBytesSent += next.data.readableBytes
            if !next.header.flags.contains(.parity) {  // parity is not stream bytes
                next.session.payloadSent(
                    offset: next.header.offset,
                    end: next.header.offset + UInt64(next.data.readableBytes),
                    carrier: connection.serial
                )
            }
        }
        self.choice.endBurst()
        for connection in touched {
            connection.needsFlush = false
            connection.flush()
        }
    }
}
