import NIOCore
import TCSplitterCore

/// Turns the bytes of a tunnel connection into `Frame`s (wire format v1, see `Frame`).
///
/// A frame is only passed on once all of it has arrived; garbage, an unknown version or an
/// oversize length fails at once, and the connection is closed by `TunnelConnectionHandler`.
/// Bytes left over when the peer ends the connection are a cut frame: `truncatedFrame`.
///
/// On a keyed tunnel every frame after the hellos is sealed (`FrameCipher`): its body is opened
/// before it is parsed, and an unsealed or forged one fails the connection.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let limits: FrameLimits
    let security: ConnectionSecurity

    init(limits: FrameLimits, security: ConnectionSecurity = ConnectionSecurity(key: nil)) {
        self.limits = limits
        self.security = security
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard var envelope = try buffer.readFrameEnvelope(limits: self.limits) else { return .needMoreData }
        if let cipher = self.security.cipher {
            envelope.body = try cipher.open(header: envelope.header, body: envelope.body)
        } else if self.security.key != nil && !Frame.isHello(envelope.type) {
            throw FrameCipherError.authenticationFailed  // a frame before the keyed hello completed
        }
        let frame = try Frame(type: envelope.type, body: &envelope.body)
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
