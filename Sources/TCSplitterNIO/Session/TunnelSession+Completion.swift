import Logging
import NIOCore
import TCSplitterCore

/// Acknowledgements, the half-closes and the end of a session, with its reason.
extension TunnelSession {
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
}
