import HeapModule
import NIOCore

/// Why a payload or a message from the peer was refused; each closes the session with this error.
public enum ReceiveStreamError: Error, Hashable, Sendable {
    /// Data beyond the window the peer was granted (`limit` is the first offset outside it).
    case beyondWindow(offset: UInt64, length: Int, limit: UInt64)
    /// Data past the final offset the peer announced.
    case beyondFinalOffset(offset: UInt64, length: Int, finalOffset: UInt64)
    /// A second, different final offset, or one below bytes already received.
    case conflictingFinalOffset(UInt64)
    /// A consumption report beyond the delivered bytes (a bug, not the peer).
    case consumedUndeliveredBytes
}

/// The receiving half of one direction of a session: reassembly by 64-bit offset.
///
/// Payloads may arrive in any order, on any connection, more than once. In-order bytes are
/// handed out at once; later ones wait in a stash bounded by the window. The window is counted
/// from `consumedOffset`, the bytes the local socket has taken, so a slow local reader stops the
/// peer instead of growing memory.
///
/// ```
///  consumedOffset     deliveredOffset      stashed (out of order)        consumed + window
///        |--- forwarder ---|---- gap ----[####]----[###]----- free -----------|
/// ```
///
/// A gap is "stalled" when bytes before a known-sent offset stay missing for `stallTimeout`:
/// without retries or FEC that is data lost with its connection, and the session is closed with
/// that error rather than waiting forever or skipping bytes. The stall clock runs from the later of
/// the last in-order progress and the moment the gap opened, so a quiet stream is never stalled
/// the instant its next payload overtakes another.
public struct ReceiveStream: Sendable {
    /// The most bytes this side holds for the stream at once.
    public let windowBytes: Int
    /// Everything before this offset was handed out in order.
    public private(set) var deliveredOffset: UInt64 = 0
    /// Everything before this offset was written to the local socket (and may be acknowledged).
    public private(set) var consumedOffset: UInt64 = 0
    /// The end of the stream, once announced.
    public private(set) var finalOffset: UInt64? = nil
    /// The highest offset the peer is known to have sent (from payloads and progress reports).
    public private(set) var knownSentOffset: UInt64 = 0
    /// Bytes held out of order.
    public private(set) var stashedBytes = 0
    /// Payloads dropped because every byte had been received before.
    public private(set) var duplicatePayloads = 0
    private var stash: [UInt64: ByteBuffer] = [:]
    /// The stash's keys, smallest first, so that finding whether any stashed piece starts before
    /// the delivered offset costs O(log n), not a scan of the stash per payload. Keys taken out of
    /// the stash stay until the next check drops them from the top.
    private var stashKeys = Heap<UInt64>()
    private var skipped: [Range<UInt64>] = []
    /// Bytes given up on (opt-in skipping).
    public private(set) var skippedBytes: UInt64 = 0
    private var lastProgress: NIODeadline

    /// A stream with nothing received yet, at `now`.
    public init(windowBytes: Int, now: NIODeadline) {
        self.windowBytes = windowBytes
        self.lastProgress = now
    }

    /// Whether every byte up to the announced end was delivered.
    public var isComplete: Bool { self.finalOffset.map { $0 == self.deliveredOffset } ?? false }

    /// Whether every byte up to the announced end was written to the local socket.
    public var isConsumed: Bool { self.finalOffset.map { $0 == self.consumedOffset } ?? false }

    /// Takes a payload. Returns the bytes now deliverable in order (possibly none).
    public mutating func receive(
        offset: UInt64,
        data: ByteBuffer,
        isEndOfStream: Bool = false,
        now: NIODeadline
    ) throws(ReceiveStreamError) -> [ByteBuffer] {
        let length = data.readableBytes
        let end = offset + UInt64(length)
        let limit = self.consumedOffset + UInt64(self.windowBytes)
        guard end <= limit else { throw .beyondWindow(offset: offset, length: length, limit: limit) }
        if let final = self.finalOffset, end > final {
            throw .beyondFinalOffset(offset: offset, length: length, finalOffset: final)
        }
        if isEndOfStream { try self.setFinalOffset(end, now: now) }
        self.noteSent(upTo: end, now: now)
        guard length > 0 else { return [] }  // nothing to deliver or stash (never a stash entry per offset)

        guard end > self.deliveredOffset else {
            self.duplicatePayloads += 1
            return []
        }
        var data = data
        var start = offset
        if start < self.deliveredOffset {  // overlaps bytes already delivered: keep the new part
            data.moveReaderIndex(forwardBy: Int(self.deliveredOffset - start))
            start = self.deliveredOffset
        }
        guard start == self.deliveredOffset else {
            self.store(data, at: start)
            return []
        }
        var ready = [data]
        self.deliveredOffset = end
        self.drainStash(into: &ready)
        self.lastProgress = now
        return ready
    }

    /// Records the end of the stream announced by the peer (`finish`), at `now`.
    public mutating func setFinalOffset(_ offset: UInt64, now: NIODeadline) throws(ReceiveStreamError) {
        if let final = self.finalOffset {
            guard final == offset else { throw .conflictingFinalOffset(offset) }
            return
        }
        guard offset >= self.knownSentOffset, offset >= self.deliveredOffset else {
            throw .conflictingFinalOffset(offset)
        }
        self.finalOffset = offset
        self.noteSent(upTo: offset, now: now)
    }

    /// Records the peer's report, at `now`, of how far it has sent.
    public mutating func peerSent(upTo offset: UInt64, now: NIODeadline) throws(ReceiveStreamError) {
        if let final = self.finalOffset, offset > final { throw .conflictingFinalOffset(offset) }
        self.noteSent(upTo: offset, now: now)
    }

    /// Records that `bytes` more delivered bytes were written to the local socket. The count may
    /// cross skipped ranges (bytes from before and after a skip written together): each is passed
    /// over exactly where the bytes before it end.
    public mutating func consumed(_ bytes: Int) throws(ReceiveStreamError) {
        var offset = self.consumedOffset
        var remaining = UInt64(bytes)
        var skipsCrossed = 0
        while true {
            while skipsCrossed < self.skipped.count, self.skipped[skipsCrossed].lowerBound <= offset {
                offset = max(offset, self.skipped[skipsCrossed].upperBound)
                skipsCrossed += 1
            }
            guard remaining > 0 else { break }
            let limit = skipsCrossed < self.skipped.count ? self.skipped[skipsCrossed].lowerBound : UInt64.max
            let step = min(remaining, limit - offset)
            offset += step
            remaining -= step
        }
        guard offset <= self.deliveredOffset else { throw .consumedUndeliveredBytes }
        self.consumedOffset = offset
        self.skipped.removeFirst(skipsCrossed)
    }

    /// Skipped bytes count as consumed as soon as everything before them is.
    private mutating func applySkips() {
        while let first = self.skipped.first, first.lowerBound <= self.consumedOffset {
            self.consumedOffset = max(self.consumedOffset, first.upperBound)
            self.skipped.removeFirst()
        }
    }

    /// The ranges the peer has sent that have not arrived, in order (at most `limit`).
    public func missingRanges(limit: Int = 16) -> [Range<UInt64>] {
        guard self.deliveredOffset < self.knownSentOffset else { return [] }
        var ranges: [Range<UInt64>] = []
        var cursor = self.deliveredOffset
        for key in self.stash.keys.sorted() where ranges.count < limit {
            let end = key + UInt64(self.stash[key]!.readableBytes)
            if key > cursor { ranges.append(cursor..<key) }
            cursor = max(cursor, end)
        }
        if cursor < self.knownSentOffset && ranges.count < limit { ranges.append(cursor..<self.knownSentOffset) }
        return ranges
    }

    /// The out-of-order ranges held (for selective acknowledgements), in order, at most `limit`.
    public func heldRanges(limit: Int = 8) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for key in self.stash.keys.sorted() {
            let end = key + UInt64(self.stash[key]!.readableBytes)
            if let last = ranges.last, last.upperBound >= key {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                guard ranges.count < limit else { break }
                ranges.append(key..<end)
            }
        }
        return ranges
    }

    /// Gives up on the missing bytes at the delivered offset, up to `range.upperBound` (opt-in
    /// skipping): delivery goes on after them, and they count as consumed once the bytes before
    /// them are. Returns the bytes now deliverable.
    public mutating func skip(upTo end: UInt64, now: NIODeadline) -> [ByteBuffer] {
        guard end > self.deliveredOffset else { return [] }
        let target = self.finalOffset.map { min($0, end) } ?? end
        self.skipped.append(self.deliveredOffset..<target)
        self.skippedBytes += target - self.deliveredOffset
        self.deliveredOffset = target
        self.knownSentOffset = max(self.knownSentOffset, target)
        var ready: [ByteBuffer] = []
        self.drainStash(into: &ready)
        self.lastProgress = now
        self.applySkips()
        return ready
    }

    /// Whether bytes the peer sent have been missing for longer than `timeout`.
    public func isStalled(now: NIODeadline, timeout: TimeAmount) -> Bool {
        self.deliveredOffset < self.knownSentOffset && now - self.lastProgress > timeout
    }

    /// The first missing byte range, if any (for error messages).
    public var firstGap: Range<UInt64>? {
        guard self.deliveredOffset < self.knownSentOffset else { return nil }
        let next = self.stash.keys.min() ?? self.knownSentOffset
        return self.deliveredOffset..<next
    }

    /// Raises the known sent offset; a gap that opens now starts the stall clock now.
    private mutating func noteSent(upTo offset: UInt64, now: NIODeadline) {
        guard offset > self.knownSentOffset else { return }
        if self.deliveredOffset >= self.knownSentOffset && offset > self.deliveredOffset { self.lastProgress = now }
        self.knownSentOffset = offset
    }

    private mutating func store(_ data: ByteBuffer, at offset: UInt64) {
        let replaced = self.stash[offset]?.readableBytes ?? 0
        if self.stash[offset] != nil, data.readableBytes <= replaced {
            self.duplicatePayloads += 1
            return
        }
        // Overlapping stashed ranges (only a misbehaving peer sends them) still count in full, so
        // the stash never holds more than the window.
        guard self.stashedBytes - replaced + data.readableBytes <= self.windowBytes else {
            self.duplicatePayloads += 1
            return
        }
        if self.stash.updateValue(data, forKey: offset) == nil { self.stashKeys.insert(offset) }
        self.stashedBytes += data.readableBytes - replaced
    }

    private mutating func drainStash(into ready: inout [ByteBuffer]) {
        guard !self.stash.isEmpty else {
            if !self.stashKeys.isEmpty { self.stashKeys = Heap() }
            return
        }
        self.takeInOrder(into: &ready)
        // Payloads are cut the same way every time, so normally every stashed piece starts after
        // the delivered offset: the smallest live key tells, without looking at the others.
        while let lowest = self.stashKeys.min, self.stash[lowest] == nil { self.stashKeys.removeMin() }
        guard let lowest = self.stashKeys.min, lowest < self.deliveredOffset else {
            // Every key taken in order lay below the delivered offset, so below every live key:
            // all were dropped, and the heap is the size of the stash.
            assert(self.stashKeys.count == self.stash.count, "stale stash keys above live ones")
            return
        }
        // Pieces cut differently (a misbehaving or changed peer): trim what overlaps the delivered
        // offset, drop what lies wholly before it, and index the stash again.
        while true {
            self.takeInOrder(into: &ready)
            guard
                let overlap = self.stash.first(where: {
                    $0.key < self.deliveredOffset && $0.key + UInt64($0.value.readableBytes) > self.deliveredOffset
                })
            else { break }
            self.stash.removeValue(forKey: overlap.key)
            self.stashedBytes -= overlap.value.readableBytes
            var piece = overlap.value
            piece.moveReaderIndex(forwardBy: Int(self.deliveredOffset - overlap.key))
            self.stash[self.deliveredOffset] = piece
            self.stashedBytes += piece.readableBytes
        }
        for (key, value) in self.stash where key + UInt64(value.readableBytes) <= self.deliveredOffset {
            self.stash.removeValue(forKey: key)
            self.stashedBytes -= value.readableBytes
        }
        self.stashKeys = Heap(self.stash.keys)
    }

    /// Hands out the stashed pieces that continue the delivered bytes exactly.
    private mutating func takeInOrder(into ready: inout [ByteBuffer]) {
        while let next = self.stash.removeValue(forKey: self.deliveredOffset) {
            self.stashedBytes -= next.readableBytes
            self.deliveredOffset += UInt64(next.readableBytes)
            if next.readableBytes > 0 { ready.append(next) }
        }
    }
}
