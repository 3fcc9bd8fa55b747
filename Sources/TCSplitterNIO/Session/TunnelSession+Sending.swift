import Logging
import NIOCore
import TCSplitterCore

/// The sending half: cutting what the local socket gave into payloads (tock, push) and asking
/// the local socket for more (tick).
extension TunnelSession {
    func pack(includeTail: Bool, now: NIODeadline) {
        self.send.largeCutBytes = self.configuration.largeCutBytes(
            largePayloadsPay: self.link.budgetScaler.takesLargePayloads)
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
                if session.scheduler.tockFired() == .flushNow { session.pack(includeTail: true, now: session.now) }
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
        if self.send.endOfStreamPacked { self.run(self.lifecycle.endOfStreamPacked()) }
    }

    func perform(_ action: TickTockScheduler.ReadAction) {
        switch action {
        case .readNow:
            guard let channel = self.localChannel else { return }
            // NIO drops a read asked for before an accepted channel is registered (it marks the
            // read pending but never watches the socket, and activation reads only with autoRead
            // on). The server's `opened` can arrive in the same event-loop pass as the accept,
            // before the registration NIO defers to a task: the read then waits for activation.
            self.run(self.lifecycle.readWanted(socketActive: channel.isActive))
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
}
