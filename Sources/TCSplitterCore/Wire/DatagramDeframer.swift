import NIOCore

/// The receiving side of `DatagramChunk` framing: rebuilds datagrams from the in-order bytes of a
/// session's stream, which may have skipped gaps (lost payloads, UDP mode).
///
/// Bytes are appended in stream order. The receiver announces each skipped range (`skipped(_:)`)
/// before handing over the bytes after it; when the input reaches a skipped range, the datagram
/// in progress is dropped (counted in `droppedAtGaps`) and reading resumes at the range's end,
/// which is a payload start and so a chunk header. Chunks continuing a datagram whose start was
/// lost are dropped too.
///
/// `takeFinishedBytes()` tells how many stream bytes are done with (written as datagrams,
/// padding, or dropped): the receiver counts only those as consumed, so the bytes of a datagram
/// still being assembled keep their place in the window and skips are crossed exactly.
///
/// ```
///  stream  ..[D3 len data][D1 len data | pad]  gap  [D0 ..orphan..][D2 ..][D3 len data]..
///  out         datagram     (dropped: lost)          (dropped: lost)       datagram
/// ```
public struct DatagramDeframer: Sendable {
    private enum State: Sendable {
        /// Expecting a chunk header (or padding); `partial` holds the header bytes read so far.
        case header(partial: [UInt8])
        /// Inside a chunk's data: `remaining` bytes to go, `isLast` from its kind.
        case body(remaining: Int, isLast: Bool)
    }

    /// Stream offset of the next input byte.
    public private(set) var inputOffset: UInt64 = 0
    /// Datagrams rebuilt.
    public private(set) var datagrams = 0
    /// Datagrams seen in part and dropped because a skipped gap cut them, counted once per gap
    /// that cuts one (a datagram wholly inside a gap is never seen; the sender's count and the
    /// application tell exact loss).
    public private(set) var droppedAtGaps = 0
    private var state = State.header(partial: [])
    private var skips: [Range<UInt64>] = []
    /// The datagram being assembled (nil between datagrams, or while dropping one).
    private var current: ByteBuffer? = nil
    private var inDatagram = false
    private var dropping = false
    private var afterSkip = false
    private var unfinishedBytes = 0
    private var finishedBytes = 0

    /// A deframer at the start of a stream.
    public init() {}

    /// Bytes done with since the last call (see the type's notes), and resets the count.
    public mutating func takeFinishedBytes() -> Int {
        defer { self.finishedBytes = 0 }
        return self.finishedBytes
    }

    /// The receiver gave up on `range` of the stream: its bytes never come. Ranges are announced
    /// in stream order, each at or after the last input byte.
    public mutating func skipped(_ range: Range<UInt64>) {
        guard !range.isEmpty, range.lowerBound >= self.inputOffset else { return }
        self.skips.append(range)
        self.applySkips()
    }

    /// Takes the next in-order stream bytes; returns the datagrams they complete, in order.
    public mutating func append(_ buffer: ByteBuffer) throws(DatagramFramingError) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        var buffer = buffer
        while buffer.readableBytes > 0 {
            self.applySkips()
            // Never read across an announced skip: the bytes before it end there.
            var piece = buffer
            if let next = self.skips.first, next.lowerBound < self.inputOffset + UInt64(buffer.readableBytes) {
                piece = buffer.readSlice(length: Int(next.lowerBound - self.inputOffset))!
            } else {
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
            try self.consume(&piece, into: &out)
        }
        self.applySkips()
        return out
    }

    private mutating func consume(_ piece: inout ByteBuffer, into out: inout [ByteBuffer]) throws(DatagramFramingError)
    {
        while piece.readableBytes > 0 {
            switch self.state {
            case .header(var partial):
                let byte = piece.readInteger(as: UInt8.self)!
                self.advance(1)
                if partial.isEmpty && byte == DatagramChunk.padding {
                    self.settleIfIdle()
                    continue
                }
                partial.append(byte)
                guard partial.count == DatagramChunk.headerBytes else {
                    self.state = .header(partial: partial)
                    continue
                }
                try self.startChunk(kind: partial[0], length: Int(partial[1]) << 8 | Int(partial[2]), into: &out)
            case .body(let remaining, let isLast):
                let take = min(remaining, piece.readableBytes)
                var data = piece.readSlice(length: take)!
                self.advance(take)
                if !self.dropping {
                    if self.current == nil && take == remaining && isLast {
                        self.current = data  // a whole chunk in one piece: no copy
                    } else {
                        if self.current == nil { self.current = ByteBuffer() }
                        self.current!.writeBuffer(&data)
                    }
                }
                if take < remaining {
                    self.state = .body(remaining: remaining - take, isLast: isLast)
                } else {
                    self.endChunk(isLast: isLast, into: &out)
                }
            }
        }
    }

    private mutating func startChunk(
        kind: UInt8,
        length: Int,
        into out: inout [ByteBuffer]
    ) throws(DatagramFramingError) {
        let offset = self.inputOffset - UInt64(DatagramChunk.headerBytes)
        guard kind & 0xFC == DatagramChunk.marker else { throw .unknownKind(kind, offset: offset) }
        let isFirst = kind & DatagramChunk.first != 0
        let isLast = kind & DatagramChunk.last != 0
        if isFirst {
            guard !self.inDatagram else { throw .unfinishedDatagram(offset: offset) }
            self.inDatagram = true
            self.dropping = false
            self.afterSkip = false
        } else if !self.inDatagram {
            // The rest of a datagram whose start was skipped: drop it. Without a skip, the peer broke.
            guard self.afterSkip else { throw .orphanContinuation(offset: offset) }
            self.inDatagram = true
            self.dropping = true
            self.current = nil
            self.droppedAtGaps += 1
        }
        let size = (self.current?.readableBytes ?? 0) + length
        guard size <= DatagramChunk.maxDatagramBytes else { throw .datagramTooLarge(bytes: size, offset: offset) }
        if length == 0 {
            self.endChunk(isLast: isLast, into: &out)  // no body to wait for (an empty datagram)
        } else {
            self.state = .body(remaining: length, isLast: isLast)
        }
    }

    private mutating func endChunk(isLast: Bool, into out: inout [ByteBuffer]) {
        self.state = .header(partial: [])
        guard isLast else { return }
        if !self.dropping {
            out.append(self.current ?? ByteBuffer())
            self.datagrams += 1
        }
        self.current = nil
        self.inDatagram = false
        self.dropping = false
        self.settleIfIdle()
    }

    private mutating func advance(_ bytes: Int) {
        self.inputOffset += UInt64(bytes)
        self.unfinishedBytes += bytes
    }

    /// Between datagrams every byte read so far is done with.
    private mutating func settleIfIdle() {
        guard !self.inDatagram, case .header(let partial) = self.state, partial.isEmpty else { return }
        self.finishedBytes += self.unfinishedBytes
        self.unfinishedBytes = 0
    }

    /// Crosses every skip the input has reached: the datagram in progress is lost.
    private mutating func applySkips() {
        while let next = self.skips.first, next.lowerBound <= self.inputOffset {
            self.skips.removeFirst()
            guard next.upperBound > self.inputOffset else { continue }
            if self.inDatagram && !self.dropping { self.droppedAtGaps += 1 }
            self.inDatagram = false
            self.dropping = false
            self.current = nil
            self.state = .header(partial: [])
            self.finishedBytes += self.unfinishedBytes
            self.unfinishedBytes = 0
            self.inputOffset = next.upperBound
            self.afterSkip = true
        }
    }
}
