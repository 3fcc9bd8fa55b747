import Logging
import NIOCore
import TCSplitterCore

/// The executor of `SessionLifecycle`'s actions: the half-closes, acknowledgements and the end
/// of a session, with its reason. The decisions are the state machine's; this file only does them.
extension TunnelSession {
    /// Does `actions` in order.
    func run(_ actions: [SessionLifecycle.Action]) {
        for action in actions {
            switch action {
            case .endSendInput:
                self.send.endInput()
            case .pack(let includeTail):
                self.pack(includeTail: includeTail, now: self.now)
            case .closeParityGroup:
                self.closeGroupAtEnd()
            case .startReading:
                self.perform(self.scheduler.start(allowance: self.send.readAllowance))
            case .readLocal:
                self.localChannel?.read()
            case .sendFinish:
                self.link.sendControl(self.finishMessage)
            case .shutLocalOutput:
                self.shutLocalOutput()
            case .checkCompletion:
                self.checkProgress()
            case .sendReset(let reason):
                self.link.sendControl(.reset(self.id, reason: reason))
            case .sendOpenRequest:
                self.link.sendControl(self.openRequest)
            case .sendOpened:
                self.link.sendControl(.opened(self.id))
            case .sendProgress:
                self.sendProgress(now: self.now)
            case .end(let reason):
                self.ended(reason)
            }
        }
    }

    /// What `SessionLifecycle.progressed(_:)` needs from the streams now.
    var streamState: SessionLifecycle.StreamState {
        SessionLifecycle.StreamState(
            sendComplete: self.send.isComplete,
            receiveConsumed: self.receive.isConsumed,
            hasLocalSocket: self.localChannel != nil
        )
    }

    /// Something moved: acknowledge if due, then let the lifecycle shut the local output or end.
    func checkProgress() {
        guard !self.isEnded else { return }
        self.reportIfDue(now: self.now)
        self.run(self.lifecycle.progressed(self.streamState))
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

    /// Ends the session abortively for `reason`; with `notifyPeer` the peer gets a `reset`
    /// naming it.
    func abort(_ reason: SessionEndReason, notifyPeer: Bool) {
        self.run(self.lifecycle.abort(reason, notifyPeer: notifyPeer))
    }

    /// Ends the session for `reason` without sending a `reset` (the peer's own, a refusal, an
    /// idle UDP session already told).
    func end(_ reason: SessionEndReason) {
        self.run(self.lifecycle.end(reason))
    }

    /// The lifecycle ended the session: log it, close (or reset, for an abortive reason) the local
    /// socket, stop the timers, leave the link with the farewell, count the reason's kind.
    private func ended(_ reason: SessionEndReason) {
        switch reason {
        case .closed, .udpIdle:
            self.logger.info("session closed", metadata: self.endMetadata)
        case .resetByPeer(let text):
            self.logger.info("session reset by the peer: \(text)", metadata: self.endMetadata)
        case .refusedByServer(let text):
            // A reset, as a refused connection would give the application.
            self.logger.warning("session refused by the server: \(text)")
        default:
            self.logger.warning("session aborted: \(reason)", metadata: self.endMetadata)
        }
        let abortive = reason.isAbortive
        self.link.counters.values.sessionsEnded[reason.kind, default: 0] += 1
        for timer in [self.tickTimer, self.tockTimer, self.releaseTimer, self.groupTimer] { timer?.cancel() }
        if let channel = self.localChannel {
            if abortive {
                channel.closeWithReset()
            } else {
                channel.close(promise: nil)
            }
        }
        self.link.sessionEnded(self, farewell: self.farewellMessages)
        self.datagramSessionEnded()
        if abortive {
            self.link.counters.values.sessionsAborted += 1
        } else {
            self.link.counters.values.sessionsClosed += 1
        }
    }

    /// This direction's end (half-close) at the final packed offset; sent once the end of the
    /// stream is packed, and repeated on resync and after the session ended.
    var finishMessage: ControlMessage { .finish(self.id, finalOffset: self.send.packedOffset) }

    /// The last messages the peer must get even if the sync connection dies with them
    /// (`SessionLifecycle.farewell`): a sent `reset`; after a clean end the `finish` and the final
    /// acknowledgement (the peer's session may still wait for either, and this one's state is gone).
    var farewellMessages: [ControlMessage] {
        switch self.lifecycle.farewell {
        case .none:
            return []
        case .reset(let reason):
            return [.reset(self.id, reason: reason)]
        case .finalState(let includesFinish):
            let progress = ControlMessage.progress(
                self.id, receivedOffset: self.receive.consumedOffset, sentOffset: self.sentOffset)
            return includesFinish ? [self.finishMessage, progress] : [progress]
        }
    }
}
