import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO

/// A TCP echo service for demos and tests (`tcsplitter echo`): every byte is sent back, and when
/// the client half-closes, the echo finishes and half-closes too, so the client gets its whole
/// reply (the `printf data | nc` case).
public enum EchoService {
    /// Binds `host:port` on `group` and echoes until the returned channel is closed.
    public static func start(host: String, port: Int, group: EventLoopGroup) -> EventLoopFuture<Channel> {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
            .bind(host: host, port: port)
    }
}

/// Echoes with backpressure: stops reading while its writes are backed up.
final class EchoHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var readPending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            self.readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && self.readPending {
            self.readPending = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Everything was read. NIO turns an output close into a full close once the input is
            // shut, failing queued writes, so close only after a flushed empty write completes
            // (writes complete in order).
            let barrier = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0)), promise: barrier)
            let channel = context.channel
            barrier.futureResult.whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
