import NIOCore

/// The forwarder's playout buffer (`--buffer ms:count`): releases in-order bytes to the local
/// socket at a steady pace that follows the arrival rate.
///
/// - `releaseInterval` 0: every byte is released as soon as it arrives (event-driven).
/// - Otherwise the buffer first holds `prefillPayloads` payloads (the jitter buffer), then every
///   `releaseInterval` releases what arrived in an average interval, or everything above the
///   jitter target if that is more, so it catches up when it falls behind.
/// - It never caps throughput: whenever the held bytes reach `highWaterBytes` (half the receive
///   window) beyond the target, or twice `highWaterBytes` in all, the excess over the target is
///   released at once; the end of the stream and a pause in arrivals of two intervals release
///   everything.
/// - Without a prefill (`count` 0, the default) the buffer holds only what waiting can merge: a
///   `push` arrival (the sender's lone burst, sent with nothing else in flight: a request, a
///   response, a keystroke) and a full payload's worth of bytes (a bulk flow) are released at
///   once; only a trickle of partial payloads is paced by the clock.
///
/// ```
/// arrivals ──▶ [ prefill: count payloads ] ──every ms──▶ rate × ms (+ excess) ──▶ local socket
/// ```
public struct SteadyRateBuffer: Sendable {
    /// What the forwarder should do next.
    public struct Release: Sendable {
        /// Bytes to write to the local socket now, in order.
        public var buffers: [ByteBuffer]
        /// When to call `releaseDue(now:)` next, if a timer is needed.
        public var nextRelease: NIODeadline?
    }

    /// Pace of releases; zero means release at once.
    public let releaseInterval: TimeAmount
    /// Bytes the jitter buffer holds before the first release and aims to keep.
    public let targetBytes: Int
    /// Held bytes at which the excess is released without waiting for the clock.
    public let highWaterBytes: Int
    /// One payload: without a prefill, this much held is a bulk flow, released at once.
    public let payloadBytes: Int

    private var queue: [ByteBuffer] = []
    private var queueHead = 0
    /// Bytes held.
    public private(set) var queuedBytes = 0
    private var prefilled: Bool
    private var endOfInput = false
    private var arrivedSinceRelease = 0
    private var averagePerInterval: Double = 0
    private var lastArrival: NIODeadline
    private var timerArmed = false

    /// A buffer releasing every `releaseInterval`, holding `prefillPayloads` payloads of
    /// `payloadBytes` first, never holding more than `highWaterBytes` beyond that.
    public init(
        releaseInterval: TimeAmount,
        prefillPayloads: Int,
        payloadBytes: Int,
        highWaterBytes: Int,
        now: NIODeadline
    ) {
        self.releaseInterval = max(.zero, releaseInterval)
        self.targetBytes = max(0, prefillPayloads) * max(1, payloadBytes)
        self.payloadBytes = max(1, payloadBytes)
        self.highWaterBytes = max(1, highWaterBytes)
        self.prefilled = self.targetBytes == 0
        self.lastArrival = now
    }

    /// Whether nothing is held.
    public var isEmpty: Bool { self.queuedBytes == 0 }

    /// Takes in-order bytes from the reassembler. `push`: they end a burst the sender sent with
    /// nothing else in flight, released at once unless the buffer holds a prefill.
    public mutating func enqueue(_ buffers: [ByteBuffer], push: Bool = false, now: NIODeadline) -> Release {
        for buffer in buffers where buffer.readableBytes > 0 {
            self.queue.append(buffer)
            self.queuedBytes += buffer.readableBytes
            self.arrivedSinceRelease += buffer.readableBytes
        }
        self.lastArrival = now
        if self.releaseInterval == .zero || self.endOfInput {
            return Release(buffers: self.take(self.queuedBytes), nextRelease: nil)
        }
        if self.targetBytes == 0 && (push || self.queuedBytes >= self.payloadBytes) {
            return Release(buffers: self.take(self.queuedBytes), nextRelease: nil)
        }
        if !self.prefilled && self.queuedBytes >= self.targetBytes { self.prefilled = true }
        if self.queuedBytes >= self.targetBytes + self.highWaterBytes || self.queuedBytes >= self.highWaterBytes * 2 {
            return Release(buffers: self.take(self.queuedBytes - self.targetBytes), nextRelease: self.armTimer(now))
        }
        return Release(buffers: [], nextRelease: self.armTimer(now))
    }

    /// The stream's last byte arrived: release everything now, and from now on.
    public mutating func endInput() -> Release {
        self.endOfInput = true
        return Release(buffers: self.take(self.queuedBytes), nextRelease: nil)
    }

    /// The release timer fired.
    public mutating func releaseDue(now: NIODeadline) -> Release {
        self.timerArmed = false
        let arrived = self.arrivedSinceRelease
        self.arrivedSinceRelease = 0
        self.averagePerInterval =
            self.averagePerInterval == 0 ? Double(arrived) : self.averagePerInterval * 0.75 + Double(arrived) * 0.25
        let quiet = now - self.lastArrival >= self.releaseInterval * 2
        if quiet { self.prefilled = true }
        guard self.prefilled else { return Release(buffers: [], nextRelease: self.armTimer(now)) }
        let paced = Int(self.averagePerInterval.rounded(.up))
        let excess = self.queuedBytes - self.targetBytes
        let amount = quiet || self.endOfInput ? self.queuedBytes : min(self.queuedBytes, max(paced, excess))
        let released = self.take(amount)
        return Release(buffers: released, nextRelease: self.armTimer(now))
    }

    private mutating func armTimer(_ now: NIODeadline) -> NIODeadline? {
        guard self.releaseInterval > .zero, self.queuedBytes > 0, !self.timerArmed else { return nil }
        self.timerArmed = true
        return now + self.releaseInterval
    }

    private mutating func take(_ bytes: Int) -> [ByteBuffer] {
        var remaining = bytes
        var out: [ByteBuffer] = []
        while remaining > 0, self.queueHead < self.queue.count {
            var head = self.queue[self.queueHead]
            if head.readableBytes <= remaining {
                remaining -= head.readableBytes
                out.append(head)
                self.queueHead += 1
            } else {
                out.append(head.readSlice(length: remaining)!)
                self.queue[self.queueHead] = head
                remaining = 0
            }
        }
        self.queuedBytes -= bytes - remaining
        if self.queueHead == self.queue.count {
            self.queue.removeAll(keepingCapacity: true)
            self.queueHead = 0
        } else if self.queueHead > 64 {
            self.queue.removeFirst(self.queueHead)
            self.queueHead = 0
        }
        return out
    }
}
