import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO

/// A UDP echo service for demos and tests (`tcsplitter udp-echo`): every datagram goes back to
/// the address it came from, unchanged.
public enum UDPEchoService {
    /// Binds `host:port` on `group` and echoes until the returned channel is closed.
    public static func start(host: String, port: Int, group: EventLoopGroup) -> EventLoopFuture<Channel> {
        DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(
                .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: UDPBootstraps.receiveBufferBytes)
            )
            .channelOption(.maxMessagesPerRead, value: 64)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(UDPBootstraps.socketBufferBytes))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(UDPBootstraps.socketBufferBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPEchoHandler())
                }
            }
            .bind(host: host, port: port)
    }
}

/// Sends every datagram back to its source.
final class UDPEchoHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        context.write(
            self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: envelope.data)),
            promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An ICMP error for an earlier reply (its sender went away): nothing to do.
    }
}
