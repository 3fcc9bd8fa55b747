import NIOCore

/// Sits on the local socket of a session (the application's on the client, the forward
/// service's on the server) and hands its events to the `TunnelSession`. Reading is manual
/// (`autoRead` off): the session reads when its window and clocks allow.
final class LocalStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: TunnelSession

    init(session: TunnelSession) {
        self.session = session
    }

    func channelActive(context: ChannelHandlerContext) {
        self.session.localChannelActive()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        // NIO ends a read cycle when a read leaves room in its buffer: the socket is drained.
        self.session.localRead(buffer, drained: buffer.writableBytes > 0)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.session.localReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.session.localInputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.session.localChannelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.session.localChannelFailed(.localFailed("local connection failed: \(error)"))
        context.close(promise: nil)
    }
}
