import Logging
import NIOCore
import TCSplitterCore

/// `--protocol udp` for one session: datagrams in are framed into the session's byte stream
/// (`DatagramFramer`), the peer's stream is rebuilt into datagrams (`DatagramDeframer`), lost
/// bytes are skipped rather than waited for (`DatagramGapPolicy`, unless `--retries` is on), and
/// a session with no datagram either way for `--udp-idle-timeout` ends.
///
/// The local side is a `DatagramPort`: on the client the shared `--listen` socket, writing to
/// the session's source address; on the server a socket connected to `--forward`, one per session.
extension TunnelSession {
    /// Bad datagrams of every session, logged at a limited rate (counted per session).
    static let datagramLog = RateLimitedLog()

    /// One datagram from the local side. It is dropped (counted, logged at a limited rate) when it
    /// is larger than UDP mode carries, or when the session's send window has no room for it:
    /// datagrams are dropped, never truncated and never queued without bound.
    func localDatagram(_ data: ByteBuffer, drained: Bool, now: NIODeadline) {
        guard !self.isEnded, let state = self.datagram else { return }
        state.lastActivity = now
        guard data.readableBytes <= DatagramChunk.maxDatagramBytes else {
            state.droppedOversize += 1
            Self.datagramLog.log(
                self.logger,
                "dropped a datagram of \(data.readableBytes) bytes from the local side: --protocol udp carries at most \(DatagramChunk.maxDatagramBytes) (\(state.droppedOversize) so far in this session)"
            )
            return
        }
        let framed = DatagramFramer.frame(
            data,
            position: self.send.pendingBytes % self.configuration.payloadBytes,
            payloadBytes: self.configuration.payloadBytes
        )
        guard framed.readableBytes <= self.send.readAllowance else {
            state.droppedWindowFull += 1
            Self.datagramLog.log(
                self.logger,
                "dropped a datagram from the local side: the session's --window is full, the far end is behind (\(state.droppedWindowFull) so far in this session)"
            )
            return
        }
        state.datagramsIn += 1
        self.localRead(framed, drained: drained)
    }

    /// The server's socket ended a read cycle; `drained` is whether it read all there was.
    func datagramReadComplete(drained: Bool) {
        self.lastReadDrained = drained
        self.localReadComplete()
    }

    /// In-order bytes of the peer's stream: rebuilt into datagrams and written to the local side.
    /// Bytes are acknowledged as soon as they are done with (written, padding or lost): a busy
    /// local socket drops datagrams (counted), as UDP does, so nothing queues without bound.
    func deliverDatagrams(_ buffers: [ByteBuffer]) {
        guard let state = self.datagram else { return }
        var datagrams: [ByteBuffer] = []
        do {
            for buffer in buffers { datagrams += try state.deframer.append(buffer) }
        } catch {
            self.abort(
                .peerBrokeStream("not framed as datagrams (\(error)): do both ends run --protocol udp?"),
                notifyPeer: true
            )
            return
        }
        if !datagrams.isEmpty {
            state.lastActivity = self.now
            if let port = state.port {
                var dropped = 0
                for datagram in datagrams {
                    // NIO counts written-but-unflushed bytes against writability: flush first, and
                    // drop only what a socket that still refuses writes cannot take.
                    if !port.isWritable { port.flush() }
                    guard port.isWritable else {
                        dropped += 1
                        continue
                    }
                    port.write(datagram)
                    state.datagramsOut += 1
                }
                port.flush()
                if dropped > 0 {
                    state.droppedBusy += dropped
                    Self.datagramLog.log(
                        self.logger,
                        "dropped \(dropped) datagrams for the local side: its socket is not taking writes (\(state.droppedBusy) so far in this session)"
                    )
                }
            } else {
                state.droppedBusy += datagrams.count
            }
        }
        self.settleDatagramBytes()
    }

    /// Counts the stream bytes the deframer is done with as consumed (opening the peer's window).
    func settleDatagramBytes() {
        guard let state = self.datagram else { return }
        let finished = state.deframer.takeFinishedBytes()
        guard finished > 0 else { return }
        do {
            try self.receive.consumed(finished)
        } catch {
            self.abort(.internalError("\(error)"), notifyPeer: true)
            return
        }
        self.checkProgress()
    }

    /// Without `--retries`: skips the leading gaps a broken data connection explains once they
    /// were missing for longer than the round trip allows (plus a tock with FEC, whose parity
    /// follows its group), and any gap after the silent wait (2 s or four round-trip timeouts),
    /// resynchronising at the next payload. Called from housekeeping.
    func checkDatagramGaps(now: NIODeadline, retryTimeout: TimeAmount) {
        guard let state = self.datagram, self.retry == nil else { return }
        var wait = max(retryTimeout, .milliseconds(100))
        if self.fecCollector != nil { wait = wait + self.configuration.tockInterval }
        let skips = state.gapPolicy.update(
            missing: self.receive.missingRanges(),
            now: now,
            wait: wait,
            lastLoss: self.link.lastDataConnectionBreak,
            silentWait: max(.seconds(2), wait * 4)
        )
        for range in skips {
            guard range.lowerBound == self.receive.deliveredOffset else { break }
            self.skipDatagramBytes(range, now: now)
        }
    }

    /// Gives up on `range` (at the delivered offset): the deframer drops the datagrams it cuts,
    /// and delivery goes on after it.
    func skipDatagramBytes(_ range: Range<UInt64>, now: NIODeadline) {
        guard let state = self.datagram else { return }
        let lostBefore = state.deframer.droppedAtGaps
        state.deframer.skipped(range)
        state.skippedBytes += range.upperBound - range.lowerBound
        let ready = self.receive.skip(upTo: range.upperBound, now: now)
        self.deliver(ready, now: now)
        self.settleDatagramBytes()
        self.logger.debug(
            "skipped lost bytes \(range.lowerBound)..<\(range.upperBound)",
            metadata: ["droppedAtGaps": "\(state.deframer.droppedAtGaps - lostBefore)"]
        )
    }

    /// Ends the session when no datagram went either way for `--udp-idle-timeout`; the peer is
    /// told with `reset`. Returns whether it ended.
    func expireIfIdle(now: NIODeadline) -> Bool {
        guard let state = self.datagram, self.phase == .open,
            now - state.lastActivity > self.configuration.udpIdleTimeout
        else { return false }
        let idle = (now - state.lastActivity).milliseconds
        self.logger.info("udp session expired: no datagram either way for \(idle) ms (--udp-idle-timeout)")
        let reason = SessionEndReason.udpIdle(milliseconds: idle)
        self.link.sendControl(.reset(self.id, reason: reason.description))
        self.end(reason)
        return true
    }

    /// The session ended: its port forgets it, and what it carried is logged.
    func datagramSessionEnded() {
        guard let state = self.datagram else { return }
        state.port?.sessionEnded()
        state.port = nil
        self.logger.info(
            "udp session ended",
            metadata: [
                "datagramsIn": "\(state.datagramsIn)", "datagramsOut": "\(state.datagramsOut)",
                "droppedAtGaps": "\(state.deframer.droppedAtGaps)", "skippedBytes": "\(state.skippedBytes)",
                "droppedOversize": "\(state.droppedOversize)", "droppedWindowFull": "\(state.droppedWindowFull)",
                "droppedBusy": "\(state.droppedBusy)",
            ]
        )
    }
}

/// The local side of a UDP session.
protocol DatagramPort: AnyObject {
    /// Whether the socket takes writes now (when it does not, datagrams are dropped).
    var isWritable: Bool { get }
    /// Writes one datagram; `flush()` sends what was written.
    func write(_ datagram: ByteBuffer)
    /// Sends the datagrams written.
    func flush()
    /// The session ended: release the socket or the address.
    func sessionEnded()
}

/// What a UDP session keeps beside the stream state (loop-confined, like its session).
final class DatagramSessionState {
    /// Where datagrams for the local side go; nil until the server's socket is connected.
    var port: DatagramPort?
    /// Rebuilds datagrams from the peer's stream.
    var deframer = DatagramDeframer()
    /// Ages gaps and says when to skip them (without `--retries`).
    var gapPolicy = DatagramGapPolicy()
    /// The last datagram either way, for `--udp-idle-timeout`.
    var lastActivity: NIODeadline
    /// Datagrams taken from the local side / written to it.
    var datagramsIn = 0
    var datagramsOut = 0
    /// Datagrams dropped: larger than UDP mode carries, no room in the window, local socket busy.
    var droppedOversize = 0
    var droppedWindowFull = 0
    var droppedBusy = 0
    /// Stream bytes given up on.
    var skippedBytes: UInt64 = 0

    init(now: NIODeadline) {
        self.lastActivity = now
    }
}
