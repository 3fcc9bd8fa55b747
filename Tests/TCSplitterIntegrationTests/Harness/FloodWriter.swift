import NIOCore
import NIOPosix
import Synchronization

/// Writes to a connection as fast as it takes bytes (while the channel is writable), and counts
/// the bytes the kernel accepted (write completed), until stopped.
final class FloodWriter: Sendable {
    private let channel: Channel
    private let counters: FloodCounters

    private init(channel: Channel, counters: FloodCounters) {
        self.channel = channel
        self.counters = counters
    }

    /// Bytes handed to the kernel so far.
    var acceptedBytes: Int { self.counters.acceptedBytes.load(ordering: .relaxed) }

    /// Connects to `127.0.0.1:port` and starts writing.
    static func start(port: Int, group: EventLoopGroup) async throws -> FloodWriter {
        let counters = FloodCounters()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FloodHandler(counters: counters))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return FloodWriter(channel: channel, counters: counters)
    }

    /// Stops writing and closes the connection.
    func close() async {
        self.counters.stopped.store(true, ordering: .relaxed)
        try? await self.channel.close()
    }
}

/// What the flood handler shares with the test.
private final class FloodCounters: Sendable {
    /// Bytes whose write completed.
    let acceptedBytes = Atomic<Int>(0)
    /// Set to stop writing.
    let stopped = Atomic<Bool>(false)
}

/// Writes 64 KiB chunks while the channel is writable; discards anything read.
private final class FloodHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let chunkBytes = 64 * 1024
    private let counters: FloodCounters
    private var chunk = ByteBuffer()

    init(counters: FloodCounters) {
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        var generator = SystemRandomNumberGenerator()
        self.chunk = context.channel.allocator.buffer(capacity: Self.chunkBytes)
        for _ in 0..<(Self.chunkBytes / 8) { self.chunk.writeInteger(generator.next() as UInt64) }
        self.pump(context: context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func pump(context: ChannelHandlerContext) {
        let counters = self.counters
        let bytes = self.chunk.readableBytes
        while context.channel.isWritable && !counters.stopped.load(ordering: .relaxed) {
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenSuccess { counters.acceptedBytes.add(bytes, ordering: .relaxed) }
            context.write(self.wrapOutboundOut(self.chunk), promise: promise)
        }
        context.flush()
    }
}
