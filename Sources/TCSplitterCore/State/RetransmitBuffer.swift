import NIOCore

/// The sender's side of retries: every payload sent and not yet acknowledged, so a lost one can
/// be sent again. Bounded by the send window, because the sender never has more than a window
/// unacknowledged.
///
/// Cumulative acknowledgements drop payloads from the front; selective ones (the receiver's
/// out-of-order ranges) drop the data of payloads the receiver already holds, so they are not
/// resent and their memory is freed early.
///
/// Each payload remembers the connection that carried it (`sent(offset:on:)`). A payload still on
/// a live connection is not lost, only slow: TCP delivers or resets it. So a receiver's request
/// resends only payloads whose connection is gone or stuck (`payloads(overlapping:resendable:)`),
/// and a connection that died resends what it carried (`payloads(carriedBy:)`): nothing queued
/// in a slow connection's send buffer is sent twice.
public struct RetransmitBuffer: Sendable {
    private struct Entry: Sendable {
        var offset: UInt64
        var length: Int
        var data: ByteBuffer?
        var isEndOfStream: Bool
        /// The data connection (by serial) that last carried it; 0 while it waits for one.
        var carrier: UInt64 = 0
        /// When it was last written to `carrier`.
        var sentAt: NIODeadline = .uptimeNanoseconds(0)
        var end: UInt64 { self.offset + UInt64(self.length) }
    }

    private var entries: [Entry] = []
    private var head = 0
    /// Bytes of payload data held (not yet acknowledged, cumulatively or selectively).
    public private(set) var heldBytes = 0
    /// Payloads handed out again so far.
    public private(set) var resentPayloads = 0

    /// An empty buffer.
    public init() {}

    /// Payloads held.
    public var count: Int { self.entries.count - self.head }

    /// Keeps a payload just sent. Offsets must increase.
    public mutating func keep(_ payload: OutboundPayload) {
        guard payload.data.readableBytes > 0 else { return }
        self.entries.append(
            Entry(
                offset: payload.offset,
                length: payload.data.readableBytes,
                data: payload.data,
                isEndOfStream: payload.isEndOfStream
            )
        )
        self.heldBytes += payload.data.readableBytes
    }

    /// Drops every payload wholly before `offset`.
    public mutating func acknowledge(upTo offset: UInt64) {
        while self.head < self.entries.count, self.entries[self.head].end <= offset {
            self.heldBytes -= self.entries[self.head].data?.readableBytes ?? 0
            self.entries[self.head].data = nil
            self.head += 1
        }
        if self.head == self.entries.count {
            self.entries.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head >= 256 {
            self.entries.removeFirst(self.head)
            self.head = 0
        }
    }

    /// Drops the data of payloads wholly inside the receiver's out-of-order ranges.
    public mutating func acknowledgeSelectively(_ ranges: [Range<UInt64>]) {
        for range in ranges {
            var index = self.firstIndex(endingAfter: range.lowerBound)
            while index < self.entries.count, self.entries[index].offset < range.upperBound {
                if self.entries[index].offset >= range.lowerBound && self.entries[index].end <= range.upperBound,
                    let data = self.entries[index].data
                {
                    self.heldBytes -= data.readableBytes
                    self.entries[index].data = nil
                }
                index += 1
            }
        }
    }

    /// A held payload (by its offset) was written to the data connection `carrier` at `now`.
    public mutating func sent(offset: UInt64, on carrier: UInt64, now: NIODeadline) {
        // Payloads leave in order, so the newest entry is the usual one; resends search.
        let index =
            self.entries.last?.offset == offset ? self.entries.count - 1 : self.firstIndex(endingAfter: offset)
        guard index < self.entries.count, self.entries[index].offset == offset else { return }
        self.entries[index].carrier = carrier
        self.entries[index].sentAt = now
    }

    /// The held payloads that connection `carrier` carried last, in order (it died).
    public mutating func payloads(carriedBy carrier: UInt64) -> [OutboundPayload] {
        var out: [OutboundPayload] = []
        for index in self.head..<self.entries.count where self.entries[index].carrier == carrier {
            guard let data = self.entries[index].data else { continue }
            let entry = self.entries[index]
            out.append(OutboundPayload(offset: entry.offset, data: data, isEndOfStream: entry.isEndOfStream))
            self.entries[index].carrier = 0
        }
        self.resentPayloads += out.count
        return out
    }

    /// The held payloads overlapping `ranges`, in order, each once, that `resendable` accepts
    /// given their carrier and when they were written to it (a receiver's request: the connection
    /// is gone or stuck, or the payload is long overdue). A payload waiting for a connection
    /// (carrier 0) is never taken: it is on its way.
    public mutating func payloads(
        overlapping ranges: [Range<UInt64>], resendable: (_ carrier: UInt64, _ sentAt: NIODeadline) -> Bool
    ) -> [OutboundPayload] {
        self.take(overlapping: ranges) { $0.carrier != 0 && resendable($0.carrier, $0.sentAt) }
    }

    /// The held payloads overlapping `ranges`, in order, each once.
    public mutating func payloads(overlapping ranges: [Range<UInt64>]) -> [OutboundPayload] {
        self.take(overlapping: ranges) { _ in true }
    }

    private mutating func take(
        overlapping ranges: [Range<UInt64>], where taking: (Entry) -> Bool
    )
        -> [OutboundPayload]
    {
        var out: [OutboundPayload] = []
        var lastTaken: UInt64? = nil
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !range.isEmpty {
            var index = self.firstIndex(endingAfter: range.lowerBound)
            while index < self.entries.count, self.entries[index].offset < range.upperBound {
                let entry = self.entries[index]
                if let data = entry.data, lastTaken.map({ entry.offset > $0 }) ?? true, taking(entry) {
                    out.append(OutboundPayload(offset: entry.offset, data: data, isEndOfStream: entry.isEndOfStream))
                    lastTaken = entry.offset
                    self.entries[index].carrier = 0
                }
                index += 1
            }
        }
        self.resentPayloads += out.count
        return out
    }

    /// Index of the first held entry whose end is after `offset` (binary search).
    private func firstIndex(endingAfter offset: UInt64) -> Int {
        var low = self.head
        var high = self.entries.count
        while low < high {
            let middle = (low + high) / 2
            if self.entries[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
