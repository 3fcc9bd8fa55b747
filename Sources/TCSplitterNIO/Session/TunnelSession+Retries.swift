import Logging
import NIOCore
import TCSplitterCore

/// Retries for one session: resending what the peer asks for or what a dead connection
/// carried, and asking for (or, opt-in, skipping) what is missing.
extension TunnelSession {
    /// Data connection `carrier` died mid-stream: with retries, resend at once what it carried
    /// that is still unacknowledged (the receiver drops duplicates by offset).
    func connectionLost(carrier: UInt64) {
        guard !self.isEnded, var retransmit = self.retransmit,
            self.link.guardAllowsResend(bytes: self.configuration.payloadBytes)
        else { return }
        let payloads = retransmit.payloads(carriedBy: carrier)
        self.retransmit = retransmit
        self.resend(payloads, reason: "connection lost")
    }

    /// The peer asks for these ranges again. Only payloads whose connection is gone, stuck or
    /// recovering from a retransmission timeout, or that are long overdue, are resent (`TunnelLink.resendFilter`): one still moving on a live
    /// connection is slow, not lost, and sending it twice would spend the link's capacity on
    /// duplicates.
    func resendRequested(_ ranges: [Range<UInt64>]) {
        guard var retransmit = self.retransmit, self.link.guardAllowsResend(bytes: self.configuration.payloadBytes)
        else {
            return
        }
        let payloads = retransmit.payloads(overlapping: ranges, resendable: self.link.resendFilter(now: self.now))
        self.retransmit = retransmit
        self.resend(payloads, reason: "requested \(ranges)")
    }

    private func resend(_ payloads: [OutboundPayload], reason: String) {
        guard !payloads.isEmpty else { return }
        self.link.counters.values.payloadsResent += payloads.count
        self.logger.debug("resending", metadata: ["why": "\(reason)", "payloads": "\(payloads.count)"])
        for payload in payloads.reversed() {
            var header = PayloadHeader(sessionID: self.id, offset: payload.offset)
            if payload.isEndOfStream { header.flags.insert(.endOfStream) }
            self.link.dispatcher.enqueue(session: self, header: header, data: payload.data, urgent: true)
        }
        self.link.dispatcher.drain()
    }

    func checkGaps(now: NIODeadline, timeout: TimeAmount) {
        guard var retry = self.retry else { return }
        let missing = self.receive.missingRanges()
        let actions = retry.update(missing: missing, now: now, timeout: timeout, tailEnd: self.receive.knownSentOffset)
        self.retry = retry
        for action in actions {
            switch action {
            case .requestResend(let ranges):
                self.link.counters.values.resendRequests += 1
                self.link.sendControl(.resend(self.id, ranges: ranges))
            case .skip(let range):
                // Only the first gap can be skipped: skipping a later one would jump over the earlier
                // gap and the bytes held between them. A later gap is tracked again, and skipped once
                // it is first, so the logged ranges are exactly the bytes lost.
                guard range.lowerBound == self.receive.deliveredOffset else { continue }
                let end = self.receive.finalOffset.map { min($0, range.upperBound) } ?? range.upperBound
                self.logger.warning(
                    "skipped bytes \(range.lowerBound)..<\(end) (\(end - range.lowerBound) bytes lost; --retries skip)"
                )
                self.link.counters.values.skips += 1
                self.link.counters.values.skippedBytes += Int(end - range.lowerBound)
                if self.datagram != nil {
                    self.skipDatagramBytes(range.lowerBound..<end, now: now)
                    continue
                }
                let ready = self.receive.skip(upTo: range.upperBound, now: now)
                self.deliver(ready, now: now)
                self.receiveMaybeComplete(now: now)
            }
        }
    }
}
