import NIOCore

/// The sending side of `DatagramChunk` framing: turns one datagram into the stream bytes that
/// carry it.
///
/// The packer (`SendStream`) cuts payloads every `payloadBytes` from where the last cut ended,
/// and cuts a partial tail only at the end of what was appended. So the framer only needs the
/// position within the payload being filled (`pendingBytes % payloadBytes`) to keep every chunk
/// inside one payload: when fewer than a header and one byte are left, it pads to the boundary.
public enum DatagramFramer {
    /// The framed bytes of `datagram`, appended where `position` bytes of the current payload
    /// (of `payloadBytes`) are already used. `datagram` may be empty (an empty datagram is one).
    /// The caller checks `datagram.readableBytes <= DatagramChunk.maxDatagramBytes`.
    public static func frame(_ datagram: ByteBuffer, position: Int, payloadBytes: Int) -> ByteBuffer {
        precondition(payloadBytes >= DatagramChunk.minPayloadBytes, "UDP payloads are at least 64 bytes")
        var data = datagram
        var out = ByteBuffer()
        out.reserveCapacity(
            data.readableBytes + 2 * DatagramChunk.headerBytes * (data.readableBytes / payloadBytes + 2))
        var room = payloadBytes - (position % payloadBytes)
        var isFirst = true
        repeat {
            let needed = DatagramChunk.headerBytes + (data.readableBytes > 0 ? 1 : 0)
            if room < needed {
                out.writeRepeatingByte(DatagramChunk.padding, count: room)
                room = payloadBytes
            }
            let take = min(data.readableBytes, room - DatagramChunk.headerBytes, Int(UInt16.max))
            let isLast = take == data.readableBytes
            var kind = DatagramChunk.marker
            if isFirst { kind |= DatagramChunk.first }
            if isLast { kind |= DatagramChunk.last }
            out.writeInteger(kind)
            out.writeInteger(UInt16(take))
            var piece = data.readSlice(length: take)!
            out.writeBuffer(&piece)
            room -= DatagramChunk.headerBytes + take
            if room == 0 { room = payloadBytes }
            isFirst = false
        } while data.readableBytes > 0
        return out
    }
}
