import NIOCore

/// One payload cut by the packer: where it starts in the stream and its bytes.
public struct OutboundPayload: Hashable, Sendable {
    /// Stream offset of the first byte.
    public var offset: UInt64
    /// The bytes, at most the configured payload size.
    public var data: ByteBuffer
    /// Whether the last byte of `data` is the last byte of this direction.
    public var isEndOfStream: Bool

    /// A payload from its parts.
    public init(offset: UInt64, data: ByteBuffer, isEndOfStream: Bool) {
        self.offset = offset
        self.data = data
        self.isEndOfStream = isEndOfStream
    }
}

/// Why an acknowledgement from the peer was refused.
public enum SendStreamError: Error, Hashable, Sendable {
    /// The peer acknowledged bytes that were never sent.
    case acknowledgedUnsentBytes(acknowledged: UInt64, sent: UInt64)
}

/// The sending half of one direction of a session: the packer and the send window.
///
/// Bytes read from the local socket are appended; `takePayloads(includeTail:)` cuts them into
/// payloads of `payloadBytes` (the tail may be shorter). The window bounds the bytes that are
/// buffered here or sent and not yet acknowledged: when `readAllowance` reaches zero the local
/// socket must not be read (backpressure).
///
/// ```
///   ackedOffset          packedOffset          packedOffset + pendingBytes
///        |---- in flight ----|------ pending ------|........ allowance ........|
///        |<------------------------------ windowBytes ------------------------>|
/// ```
public struct SendStream: Sendable {
    /// The payload size (`--frags`): complete payloads are this long, a flushed tail shorter.
    public let payloadBytes: Int
    /// When above `payloadBytes`, a complete payload takes the rest of the first read buffer, up
    /// to this many bytes, whenever that rest holds at least `payloadBytes` (fewer, larger
    /// payloads, each a slice of one read: a payload costs both ends the same whatever its size,
    /// so a fast path moves more bytes per CPU second). Bytes short of one payload still wait for
    /// the tock. 0 (or anything up to `payloadBytes`) cuts payloads of `payloadBytes`.
    public var largeCutBytes = 0
    /// The most bytes buffered or unacknowledged at once.
    public let windowBytes: Int
    /// Offset of the next byte to cut into a payload.
    public private(set) var packedOffset: UInt64 = 0
    /// Everything before this offset was acknowledged by the peer.
    public private(set) var ackedOffset: UInt64 = 0
    /// Whether the local side ended its input (EOF).
    public private(set) var inputEnded = false
    /// Whether the input ended and every byte of it was cut into payloads.
    public private(set) var endOfStreamPacked = false
    /// Read buffers not yet cut, oldest first. Kept as separate chunks: appending into one
    /// buffer would copy-on-write it (payload slices share its storage), and NIO's copy keeps the
    /// already-cut prefix, so one long-lived buffer would grow with the whole stream.
    private var chunks: [ByteBuffer] = []
    private var chunksHead = 0
    /// Bytes in `chunks`.
    public private(set) var pendingBytes = 0

    /// A stream with nothing sent yet.
    public init(payloadBytes: Int, windowBytes: Int) {
        self.payloadBytes = max(1, payloadBytes)
        self.windowBytes = max(self.payloadBytes, windowBytes)
    }

    /// Bytes packed and not yet acknowledged.
    public var unacknowledgedBytes: Int { Int(self.packedOffset - self.ackedOffset) }

    /// How many more bytes may be read from the local socket now (0: stop reading).
    public var readAllowance: Int {
        guard !self.inputEnded else { return 0 }
        return max(0, self.windowBytes - self.unacknowledgedBytes - self.pendingBytes)
    }

    /// The offset the stream ends at, once the input ended.
    public var finalOffset: UInt64? {
        self.inputEnded ? self.packedOffset + UInt64(self.pendingBytes) : nil
    }

    /// Whether every byte, including the end of stream, was packed and acknowledged.
    public var isComplete: Bool {
        self.endOfStreamPacked && self.ackedOffset == self.packedOffset
    }

    /// Adds bytes read from the local socket. Reads may overshoot the allowance by one read buffer.
    public mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0, !self.inputEnded else { return }
        self.chunks.append(bytes)
        self.pendingBytes += bytes.readableBytes
    }

    /// Records the end of the local input; the next `takePayloads(includeTail: true)` marks the end.
    public mutating func endInput() {
        self.inputEnded = true
    }

    /// Cuts every complete payload, and the partial tail too when `includeTail` is set (or the
    /// input ended), but never a byte at or past `ackedOffset + windowBytes`: what does not fit
    /// waits for an acknowledgement. The payload holding the last byte is marked end-of-stream.
    public mutating func takePayloads(includeTail: Bool) -> [OutboundPayload] {
        var payloads: [OutboundPayload] = []
        let flushTail = includeTail || self.inputEnded
        while self.pendingBytes > 0 {
            // Never past the peer's window: a read may overshoot the allowance, the wire may not.
            let windowLeft = Int(self.ackedOffset + UInt64(self.windowBytes) - self.packedOffset)
            var length = min(self.payloadBytes, self.pendingBytes, windowLeft)
            if self.largeCutBytes > self.payloadBytes && length == self.payloadBytes {
                // The rest of the first read buffer, up to `largeCutBytes`, as one slice: with the
                // 64 KiB reads of a busy socket every read becomes one payload and nothing is
                // copied (a cut across two reads would gather almost every byte). A head shorter
                // than one payload gives one payload gathered from two reads, as without.
                let headBytes = self.chunks[self.chunksHead].readableBytes
                if headBytes >= self.payloadBytes { length = min(self.largeCutBytes, headBytes, windowLeft) }
            }
            guard length > 0, length >= self.payloadBytes || length == self.pendingBytes && flushTail else {
                break
            }
            let data = self.cut(length)
            let offset = self.packedOffset
            self.packedOffset += UInt64(length)
            let isEnd = self.inputEnded && self.pendingBytes == 0
            payloads.append(OutboundPayload(offset: offset, data: data, isEndOfStream: isEnd))
            if isEnd { self.endOfStreamPacked = true }
        }
        if self.inputEnded && self.pendingBytes == 0 {
            // The final offset travels on the sync connection (`finish`); no empty payload is needed.
            self.endOfStreamPacked = true
        }
        return payloads
    }

    /// Removes the next `length` pending bytes: a slice of one chunk when it holds them all (no
    /// copy), else one new buffer gathered from several chunks.
    private mutating func cut(_ length: Int) -> ByteBuffer {
        self.pendingBytes -= length
        if self.chunks[self.chunksHead].readableBytes >= length {
            let slice = self.chunks[self.chunksHead].readSlice(length: length)!
            self.dropEmptyHead()
            return slice
        }
        var gathered = ByteBuffer()
        gathered.reserveCapacity(length)
        var remaining = length
        while remaining > 0 {
            let take = min(remaining, self.chunks[self.chunksHead].readableBytes)
            var piece = self.chunks[self.chunksHead].readSlice(length: take)!
            gathered.writeBuffer(&piece)
            remaining -= take
            self.dropEmptyHead()
        }
        return gathered
    }

    private mutating func dropEmptyHead() {
        guard self.chunksHead < self.chunks.count, self.chunks[self.chunksHead].readableBytes == 0 else { return }
        self.chunks[self.chunksHead] = ByteBuffer()
        self.chunksHead += 1
        if self.chunksHead == self.chunks.count {
            self.chunks.removeAll(keepingCapacity: true)
            self.chunksHead = 0
        } else if self.chunksHead >= 32 {
            self.chunks.removeFirst(self.chunksHead)
            self.chunksHead = 0
        }
    }

    /// Applies a cumulative acknowledgement. Returns whether the window opened.
    @discardableResult
    public mutating func acknowledge(upTo offset: UInt64) throws(SendStreamError) -> Bool {
        guard offset <= self.packedOffset else {
            throw .acknowledgedUnsentBytes(acknowledged: offset, sent: self.packedOffset)
        }
        guard offset > self.ackedOffset else { return false }
        self.ackedOffset = offset
        return true
    }
}
