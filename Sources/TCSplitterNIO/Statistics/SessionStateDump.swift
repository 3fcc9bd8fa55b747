import Logging
import NIOCore
import TCSplitterCore

extension TunnelSession {
    /// One line with everything that decides whether the session moves: for finding out where a
    /// session that stopped waits (SIGUSR1 logs it for every open session).
    var stateDescription: String {
        var fields: [String] = ["stage=\(self.lifecycle.stage.rawValue)"]
        if let channel = self.localChannel {
            fields.append("local=\(channel.isActive ? "active" : "inactive")\(channel.isWritable ? "" : ",unwritable")")
        } else {
            fields.append("local=none")
        }
        fields.append("read=\(self.scheduler.stateDescription)")
        fields.append(
            "inputEnded=\(self.lifecycle.localInputEnded) outputShut=\(self.lifecycle.localOutputShut) finishSent=\(self.lifecycle.finishSent)"
        )
        fields.append(
            "send[packed=\(self.send.packedOffset) pending=\(self.send.pendingBytes) sent=\(self.sentOffset) acked=\(self.send.ackedOffset) allowance=\(self.send.readAllowance) complete=\(self.send.isComplete)]"
        )
        fields.append(
            "receive[peerSent=\(self.receive.knownSentOffset) delivered=\(self.receive.deliveredOffset) consumed=\(self.receive.consumedOffset) final=\(self.receive.finalOffset.map(String.init) ?? "-") stashed=\(self.receive.stashedBytes) forwarder=\(self.forwarder.queuedBytes) writes=\(self.lifecycle.writesInFlight)]"
        )
        fields.append("reported[received=\(self.reporter.reportedReceived) sent=\(self.reporter.reportedSent)]")
        if let retransmit = self.retransmit { fields.append("retransmit=\(retransmit.count)") }
        return fields.joined(separator: " ")
    }
}

/// The offsets that change whenever a session moves (for `StallWatch`; a plain value, so the
/// check in every housekeeping pass allocates nothing).
struct SessionProgressMark: Equatable, Sendable {
    var read: UInt64
    var sent: UInt64
    var acknowledged: UInt64
    var peerSent: UInt64
    var delivered: UInt64
    var consumed: UInt64
}

extension TunnelSession {
    /// Where the session's offsets stand now.
    var progressMark: SessionProgressMark {
        SessionProgressMark(
            read: self.bytesFromLocal, sent: self.sentOffset, acknowledged: self.send.ackedOffset,
            peerSent: self.receive.knownSentOffset, delivered: self.receive.deliveredOffset,
            consumed: self.receive.consumedOffset
        )
    }

    /// Whether the session has bytes on their way: unacknowledged, or not yet written locally.
    var hasOutstandingWork: Bool {
        self.bytesFromLocal > self.send.ackedOffset || self.receive.knownSentOffset > self.receive.consumedOffset
            || self.receive.deliveredOffset > self.receive.consumedOffset || self.lifecycle.writesInFlight > 0
    }

    /// Logs the session's state, once per stall, when it has work outstanding and has not moved
    /// for the watch's threshold (a stall that no timeout would end is otherwise silent).
    func reportIfStalled(now: NIODeadline) {
        guard let still = self.stallWatch.check(mark: self.progressMark, outstanding: self.hasOutstandingWork, now: now)
        else { return }
        self.logger.warning(
            "session has not moved for \(still.milliseconds) ms: \(self.stateDescription); \(self.link.stateDescription)"
        )
    }
}

extension TunnelLink {
    /// The link's connections and dispatcher, in one line.
    var stateDescription: String {
        let senders = self.dispatcher.connections
        return
            "link: sync=\(self.sync == nil ? "down" : "up") data connections=\(self.dataConnections.count) senders=\(senders.count) canSend=\(senders.filter(\.canSend).count) writable=\(senders.filter(\.isWritable).count) budget=\(self.budgetScaler.budget) queued payloads=\(self.dispatcher.queuedPayloads) (\(self.dispatcher.queuedBytes) bytes) sessions=\(self.sessions.count) orphans=\(self.orphanPayloads)"
    }

    /// Logs the link's connections and dispatcher, and a line per open session (`stateDescription`).
    func logState() {
        self.logger.info("\(self.stateDescription)")
        for session in self.sessions.values {
            session.logger.info("session state: \(session.stateDescription)")
        }
    }
}
