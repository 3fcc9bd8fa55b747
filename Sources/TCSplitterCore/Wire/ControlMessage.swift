import NIOCore

/// A message of the sync connection. Every message but ping, pong and replace names a session.
///
/// Bodies (after the frame envelope), all big-endian:
/// ```
/// openTo      +------------------+---------------------------------------+----------------+
///             | session id (u64) | destination (see SessionDestination)  | [window (u32)] |
///             +------------------+---------------------------------------+----------------+
/// open        +------------------+----------------+
///             | session id (u64) | [window (u32)] |
///             +------------------+----------------+
///             window: the session's window in bytes, both ways (`--window auto` follows the
///             path's round trip); absent (and never 0 on the wire): the hello's declared window
/// opened      +------------------+
///             | session id (u64) |
///             +------------------+
/// openFailed  +------------------+--------------------+-------------------------+
/// reset       | session id (u64) | reason length (u16)| reason (UTF-8, <= 512 B)|
///             +------------------+--------------------+-------------------------+
/// finish      +------------------+---------------------+
///             | session id (u64) | final offset (u64)  |
///             +------------------+---------------------+
/// progress    +------------------+-----------------------+--------------------+-----------+
///             | session id (u64) | received offset (u64) | sent offset (u64)  | count (u8)|
///             +------------------+-----------------------+--------------------+-----------+
///             | count x (start u64, end u64): out-of-order ranges held (SACK), <= 8    |
///             +------------------------------------------------------------------------+
/// resend      +------------------+-----------+------------------------------------------+
///             | session id (u64) | count (u8)| count x (start u64, end u64), <= 16      |
///             +------------------+-----------+------------------------------------------+
///             every range non-empty (start < end), ranges in ascending order
/// ping, pong  +------------------+
///             |   token (u64)    |
///             +------------------+
/// replace     +------------------------------------------------+
///             | client nonce of the connection's hello (16 B)  |
///             +------------------------------------------------+
/// ```
public enum ControlMessage: Hashable, Sendable {
    /// Client → server: open a session to the forward address, with `windowBytes` both ways
    /// (0: the window the client's hello declared).
    case open(SessionID, windowBytes: UInt32 = 0)
    /// Client → server (transparent mode): open a session to the application's original
    /// destination; the server dials it only if its `--allow` list admits it.
    case openTo(SessionID, SessionDestination, windowBytes: UInt32 = 0)
    /// Server → client: the forward address accepted; data may flow.
    case opened(SessionID)
    /// Server → client: the forward address could not be reached.
    case openFailed(SessionID, reason: String)
    /// Either way: the sender's direction of the stream ends at `finalOffset` (half-close).
    case finish(SessionID, finalOffset: UInt64)
    /// Either way: the sender has written `receivedOffset` bytes of the peer's stream to its local
    /// socket (cumulative acknowledgement, which opens the peer's window), and has sent payloads up
    /// to `sentOffset` of its own stream (so the peer can tell a lost payload from a quiet stream).
    /// `selective` lists out-of-order ranges of the peer's stream it holds (selective
    /// acknowledgement), so the peer need not resend them.
    case progress(SessionID, receivedOffset: UInt64, sentOffset: UInt64, selective: [Range<UInt64>] = [])
    /// Either way: the sender asks the peer to send these ranges of its stream again (retries).
    case resend(SessionID, ranges: [Range<UInt64>])
    /// Either way: abort the session.
    case reset(SessionID, reason: String)
    /// Keepalive request.
    case ping(UInt64)
    /// Keepalive answer, echoing the request's token.
    case pong(UInt64)
    /// Server → client: the server has sent three quarters of its budget on the data connection
    /// whose client hello carried this nonce. The client dials its replacement now, so a fresh
    /// connection is ready when this one runs out (the server tells the client because only the
    /// server knows its budget, and the connection's own end-of-data arrives only after its
    /// in-flight bytes drain). The connection itself goes on until its budget is spent.
    case replace(HelloNonce)

    /// The frame type this message is sent as.
    public var type: FrameType {
        switch self {
        case .open: return .open
        case .openTo: return .openTo
        case .opened: return .opened
        case .openFailed: return .openFailed
        case .finish: return .finish
        case .progress: return .progress
        case .resend: return .resend
        case .reset: return .reset
        case .ping: return .ping
        case .pong: return .pong
        case .replace: return .replace
        }
    }

    /// The session this message is about, if any.
    public var sessionID: SessionID? {
        switch self {
        case .open(let id, _), .openTo(let id, _, _), .opened(let id), .openFailed(let id, _), .finish(let id, _),
            .progress(let id, _, _, _),
            .resend(let id, _), .reset(let id, _):
            return id
        case .ping, .pong, .replace:
            return nil
        }
    }

    var bodyBytes: Int {
        switch self {
        case .opened, .ping, .pong: return 8
        case .open(_, let window): return window == 0 ? 8 : 12
        case .finish, .replace: return 16
        case .openTo(_, let destination, let window): return 8 + destination.bodyBytes + (window == 0 ? 0 : 4)
        case .progress(_, _, _, let ranges): return 25 + 16 * min(ranges.count, WireConstants.maxSelectiveRanges)
        case .resend(_, let ranges): return 9 + 16 * min(ranges.count, WireConstants.maxResendRanges)
        case .openFailed(_, let reason), .reset(_, let reason): return 10 + Self.clippedReason(reason).count
        }
    }

    /// An open's optional window: absent is 0 (the hello's); present, it must not be 0.
    private static func readWindow(_ body: inout ByteBuffer, type: FrameType) throws(FrameDecodingError) -> UInt32 {
        guard body.readableBytes > 0 else { return 0 }
        guard let window = body.readInteger(as: UInt32.self) else {
            throw .malformedBody(type: type.rawValue, length: body.readableBytes)
        }
        guard window > 0 else { throw .invalidField("open.window") }
        return window
    }

    init(type: FrameType, body: inout ByteBuffer) throws(FrameDecodingError) {
        guard let first = body.readInteger(as: UInt64.self) else {
            throw .malformedBody(type: type.rawValue, length: body.readableBytes)
        }
        if type == .ping { self = .ping(first); return }
        if type == .pong { self = .pong(first); return }
        if type == .replace {
            guard let low = body.readInteger(as: UInt64.self) else {
                throw .malformedBody(type: type.rawValue, length: body.readableBytes)
            }
            self = .replace(HelloNonce(high: first, low: low))
            return
        }
        guard first != 0 else { throw .invalidField("control.sessionID") }
        let session = SessionID(rawValue: first)
        switch type {
        case .open:
            self = .open(session, windowBytes: try Self.readWindow(&body, type: type))
        case .openTo:
            let destination = try SessionDestination(body: &body, type: type)
            self = .openTo(session, destination, windowBytes: try Self.readWindow(&body, type: type))
        case .opened:
            self = .opened(session)
        case .finish:
            guard let final = body.readInteger(as: UInt64.self) else {
                throw .malformedBody(type: type.rawValue, length: body.readableBytes)
            }
            self = .finish(session, finalOffset: final)
        case .progress:
            guard let received = body.readInteger(as: UInt64.self), let sent = body.readInteger(as: UInt64.self)
            else { throw .malformedBody(type: type.rawValue, length: body.readableBytes) }
            let ranges = try Self.readRanges(
                &body, type: type, limit: WireConstants.maxSelectiveRanges, field: "progress")
            self = .progress(session, receivedOffset: received, sentOffset: sent, selective: ranges)
        case .resend:
            let ranges = try Self.readRanges(&body, type: type, limit: WireConstants.maxResendRanges, field: "resend")
            self = .resend(session, ranges: ranges)
        case .openFailed, .reset:
            guard let length = body.readInteger(as: UInt16.self) else {
                throw .malformedBody(type: type.rawValue, length: body.readableBytes)
            }
            guard Int(length) <= WireConstants.maxReasonBytes else { throw .invalidField("control.reasonLength") }
            guard let reason = body.readString(length: Int(length)) else {
                throw .malformedBody(type: type.rawValue, length: body.readableBytes)
            }
            self = type == .reset ? .reset(session, reason: reason) : .openFailed(session, reason: reason)
        default:
            throw .unknownFrameType(type.rawValue)
        }
    }

    func writeBody(into buffer: inout ByteBuffer) -> Int {
        switch self {
        case .opened(let id):
            return buffer.writeInteger(id.rawValue)
        case .open(let id, let window):
            return buffer.writeInteger(id.rawValue) + (window == 0 ? 0 : buffer.writeInteger(window))
        case .openTo(let id, let destination, let window):
            return buffer.writeInteger(id.rawValue) + destination.writeBody(into: &buffer)
                + (window == 0 ? 0 : buffer.writeInteger(window))
        case .ping(let token), .pong(let token):
            return buffer.writeInteger(token)
        case .replace(let nonce):
            return buffer.writeInteger(nonce.high) + buffer.writeInteger(nonce.low)
        case .finish(let id, let final):
            return buffer.writeInteger(id.rawValue) + buffer.writeInteger(final)
        case .progress(let id, let received, let sent, let ranges):
            return buffer.writeInteger(id.rawValue) + buffer.writeInteger(received) + buffer.writeInteger(sent)
                + Self.writeRanges(ranges, limit: WireConstants.maxSelectiveRanges, into: &buffer)
        case .resend(let id, let ranges):
            return buffer.writeInteger(id.rawValue)
                + Self.writeRanges(ranges, limit: WireConstants.maxResendRanges, into: &buffer)
        case .openFailed(let id, let reason), .reset(let id, let reason):
            let bytes = Self.clippedReason(reason)
            return buffer.writeInteger(id.rawValue) + buffer.writeInteger(UInt16(bytes.count))
                + buffer.writeBytes(bytes)
        }
    }

    /// Reads `count (u8)` then that many `(start u64, end u64)` ranges, each non-empty and in
    /// ascending order.
    static func readRanges(
        _ body: inout ByteBuffer,
        type: FrameType,
        limit: Int,
        field: String
    ) throws(FrameDecodingError) -> [Range<UInt64>] {
        guard let count = body.readInteger(as: UInt8.self) else {
            throw .malformedBody(type: type.rawValue, length: body.readableBytes)
        }
        guard Int(count) <= limit else { throw .invalidField("\(field).rangeCount") }
        var ranges: [Range<UInt64>] = []
        ranges.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let start = body.readInteger(as: UInt64.self), let end = body.readInteger(as: UInt64.self) else {
                throw .malformedBody(type: type.rawValue, length: body.readableBytes)
            }
            guard start < end, ranges.last.map({ $0.upperBound <= start }) ?? true else {
                throw .invalidField("\(field).ranges")
            }
            ranges.append(start..<end)
        }
        return ranges
    }

    /// Writes at most `limit` ranges as `count (u8)` + `(start, end)` pairs.
    static func writeRanges(_ ranges: [Range<UInt64>], limit: Int, into buffer: inout ByteBuffer) -> Int {
        let kept = ranges.prefix(limit)
        var written = buffer.writeInteger(UInt8(kept.count))
        for range in kept { written += buffer.writeInteger(range.lowerBound) + buffer.writeInteger(range.upperBound) }
        return written
    }

    /// The reason's UTF-8 bytes, cut to the limit on a character boundary: the longest run of
    /// whole `Character`s (grapheme clusters) that fits, so no scalar or cluster is ever split.
    static func clippedReason(_ reason: String) -> [UInt8] {
        guard reason.utf8.count > WireConstants.maxReasonBytes else { return Array(reason.utf8) }
        var end = reason.startIndex
        var bytes = 0
        for index in reason.indices {
            let next = reason.index(after: index)
            bytes += reason.utf8.distance(from: index, to: next)
            guard bytes <= WireConstants.maxReasonBytes else { break }
            end = next
        }
        return Array(reason.utf8[..<end])
    }
}
