import Logging
import NIOCore
import TCSplitterCore

/// What the peer tells a session: its payloads and control messages, and the link's periodic
/// housekeeping (retries, stalls, probes) and resyncs.
extension TunnelSession {
    /// A payload of this session arrived.
    func received(payload: PayloadFrame) {
        guard !self.isEnded else { return }
        let now = self.now
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
            self.deliver(ready, now: now)
            self.receiveMaybeComplete(now: now)
        } catch {
            self.abort(.peerBrokeStream("\(error)"), notifyPeer: true)
        }
    }

    /// A control message about this session arrived.
    func received(control message: ControlMessage) {
        guard !self.isEnded else { return }
        let now = self.now
        do {
            switch message {
            case .opened:
                self.open()
            case .openFailed(_, let reason):
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
                        let read = self.scheduler.flightEmptied(allowance: self.send.readAllowance)
                        if read != .none { self.tickTimer?.cancel() }
                        self.perform(read)
                    }
                    self.perform(self.scheduler.windowOpened(allowance: self.send.readAllowance))
                }
                self.checkProgress()
            case .reset(_, let reason):
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
        // The housekeeping tick's time: a payload counts as overdue only after seconds, so the
        // tick's 20 ms granularity costs nothing, and a clock read per payload would.
        self.retransmit?.sent(offset: offset, on: carrier, now: self.link.lastHousekeeping)
    }

    /// Called periodically: retries, stalls and probes. `retryTimeout` and `requestTimeout` follow
    /// the round trip (`RoundTripEstimator`): a stream's gaps are asked for after `requestTimeout`.
    func housekeeping(now: NIODeadline, retryTimeout: TimeAmount, requestTimeout: TimeAmount) {
        guard !self.isEnded else { return }
        if self.retry != nil { self.checkGaps(now: now, timeout: requestTimeout) }
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
        self.run(self.lifecycle.resync(isClient: isClient))
    }

    /// Stop and end at once (shutdown).
    func shutdown() {
        self.abort(.shutdown, notifyPeer: true)
    }
}
