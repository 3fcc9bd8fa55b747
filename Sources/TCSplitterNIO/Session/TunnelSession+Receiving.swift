import Logging
import NIOCore
import TCSplitterCore

/// The receiving half: releasing in-order bytes through the playout buffer and writing them to
/// the local socket, one flush per event-loop pass.
extension TunnelSession {
    /// In-order bytes from the reassembler (a payload, a rebuilt FEC shard, a skip) go to the
    /// playout buffer, released at once if they complete a `push` burst, and on to the socket.
    func deliver(_ ready: [ByteBuffer], now: NIODeadline) {
        guard !ready.isEmpty else { return }
        self.forward(self.forwarder.enqueue(ready, push: self.takePush(), now: now), now: now)
    }

    /// Whether a `push` payload's bytes are now all delivered in order (and forgets it if so).
    private func takePush() -> Bool {
        guard let end = self.pushPendingUpTo, self.receive.deliveredOffset >= end else { return false }
        self.pushPendingUpTo = nil
        return true
    }

    func forward(_ release: SteadyRateBuffer.Release, now: NIODeadline) {
        if !release.buffers.isEmpty { self.writeToLocal(release.buffers) }
        if let next = release.nextRelease, !self.isEnded {
            self.releaseTimer?.cancel()
            self.releaseTimer = self.schedule(at: next) { session in
                session.releaseTimer = nil
                let now = session.now
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
        self.lifecycle.localWriteStarted()
        self.link.eventLoop.assumeIsolated().execute {
            self.lifecycle.localWriteFinished()
            self.flushLocalBatch()
        }
    }

    /// Writes the bytes gathered by `writeToLocal` in this event-loop pass, with one flush; they
    /// count as consumed (and may be acknowledged) once the local socket has taken them.
    func flushLocalBatch() {
        let buffers = self.localBatch
        self.localBatch.removeAll(keepingCapacity: true)
        guard !self.isEnded, let channel = self.localChannel, let last = buffers.last else { return }
        let bytes = buffers.reduce(0) { $0 + $1.readableBytes }
        for buffer in buffers.dropLast() { channel.write(buffer, promise: nil) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(last, promise: promise)
        self.lifecycle.localWriteStarted()
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.lifecycle.localWriteFinished()
            guard !self.isEnded else { return }
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
}
