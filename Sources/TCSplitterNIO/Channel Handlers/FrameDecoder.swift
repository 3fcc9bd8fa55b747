import NIOCore
import TCSplitterCore

/// Turns the bytes of a tunnel connection into `Frame`s (wire format v1, see `Frame`).
///
/// A frame is only passed on once all of it has arrived; garbage, an unknown version or an
/// oversize length fails at once, and the connection is closed by `TunnelConnectionHandler`.
/// Bytes left over when the peer ends the connection are a cut frame: `truncatedFrame`.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let limits: FrameLimits

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try buffer.readFrame(limits: self.limits) else { return .needMoreData }
        context.fireChannelRead(NIOAny(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let leftover = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: leftover)
            throw FrameDecodingError.truncatedFrame(bufferedBytes: leftover)
        }
        return .needMoreData
    }
}
