/// How `--protocol udp` carries datagrams inside a session's byte stream (wire format v2).
///
/// The tunnel between the ends stays TCP and the session stays a byte stream, so payloads, FEC
/// and retries work unchanged; each datagram is framed as one or more chunks:
///
/// ```
/// chunk    +-----------+-----------------+------------------------+
///          | kind (u8) | length (u16 BE) | length bytes of data   |
///          +-----------+-----------------+------------------------+
/// padding  +-----------+
///          | 0x00      |   one byte, no length: fills the last 1-3 bytes of a payload
///          +-----------+
///
/// kind = 0xD0 | first (0x01) | last (0x02):
///          0xD3 a whole datagram      0xD1 its first chunk
///          0xD0 a middle chunk        0xD2 its last chunk
/// ```
///
/// The framer never lets a chunk straddle a payload boundary: every payload starts with a chunk
/// header (or padding), so after lost bytes are skipped the receiver resynchronises at the next
/// payload, dropping only the datagrams that had bytes in the gap. Several datagrams share a
/// payload; a datagram larger than a payload spans several (first, middle..., last). The
/// receiver rebuilds a datagram only from a first chunk through its last, in order, and never
/// beyond `maxDatagramBytes`.
public enum DatagramChunk {
    /// kind(1) + length(2).
    public static let headerBytes = 3
    /// The largest datagram carried: the most an IPv4 UDP datagram can hold (65,535 − 8 − 20).
    public static let maxDatagramBytes = 65_507
    /// The padding byte.
    public static let padding: UInt8 = 0x00
    /// The marker bits every chunk kind carries.
    public static let marker: UInt8 = 0xD0
    /// Kind bit: the chunk starts a datagram.
    public static let first: UInt8 = 0x01
    /// Kind bit: the chunk ends a datagram.
    public static let last: UInt8 = 0x02
    /// The smallest `--frags` payload UDP mode accepts (room for a header and data after padding).
    public static let minPayloadBytes = 64

    /// The most stream bytes one datagram takes once framed, for payloads of `payloadBytes`:
    /// its data, a header per payload it touches, and padding at most once per payload.
    public static func maxFramedBytes(payloadBytes: Int) -> Int {
        let perPayload = max(1, payloadBytes - 2 * Self.headerBytes)
        let payloads = Self.maxDatagramBytes / perPayload + 2
        return Self.maxDatagramBytes + payloads * 2 * Self.headerBytes
    }
}

/// Why the datagram stream from the peer cannot be read; the session ends with it (a correct
/// peer never sends it: most likely the ends disagree on `--protocol`).
public enum DatagramFramingError: Error, Hashable, Sendable {
    /// A byte where a chunk header belongs that is neither padding nor a chunk kind.
    case unknownKind(UInt8, offset: UInt64)
    /// A chunk continuing a datagram when none was started, with no gap skipped before it.
    case orphanContinuation(offset: UInt64)
    /// A first chunk while the previous datagram was still unfinished.
    case unfinishedDatagram(offset: UInt64)
    /// A datagram growing beyond `DatagramChunk.maxDatagramBytes`.
    case datagramTooLarge(bytes: Int, offset: UInt64)
}
