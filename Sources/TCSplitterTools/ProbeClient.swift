import Crypto
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO

/// Sends pseudo-random bytes through an echo path and checks they come back byte-exact
/// (`tcsplitter probe`, and the integration tests). Each session writes its bytes, half-closes,
/// and reads the echo to its end; SHA-256 digests of both directions are compared.
public enum ProbeClient {
    /// What one probe session saw.
    public struct Result: Sendable {
        /// Bytes written.
        public var sentBytes: Int
        /// Bytes read back.
        public var receivedBytes: Int
        /// SHA-256 of the bytes written.
        public var sentDigest: [UInt8]
        /// SHA-256 of the bytes read back.
        public var receivedDigest: [UInt8]
        /// Whether the echo was exact.
        public var isExact: Bool { self.sentBytes == self.receivedBytes && self.sentDigest == self.receivedDigest }
    }

    /// Why a probe failed.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened.
        public var description: String
    }

    /// Runs one session: `bytes` pseudo-random bytes from `seed` to `host:port` and back.
    public static func run(
        host: String,
        port: Int,
        bytes: Int,
        seed: UInt64,
        timeout: TimeAmount,
        group: EventLoopGroup
    ) -> EventLoopFuture<Result> {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Result.self)
        let timeoutTask = eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no complete echo within \(timeout.nanoseconds / 1_000_000) ms"))
        }
        promise.futureResult.whenComplete { _ in timeoutTask.cancel() }
        ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ProbeHandler(totalBytes: bytes, seed: seed, promise: promise)
                    )
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        return promise.futureResult
    }
}

/// Writes the probe bytes as fast as the connection takes them and hashes both directions.
final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let totalBytes: Int
    private var generator: SplitMix64
    private let promise: EventLoopPromise<ProbeClient.Result>
    private var sent = 0
    private var received = 0
    private var sentHash = SHA256()
    private var receivedHash = SHA256()
    private var outputClosed = false
    private var failed = false
    private var finished = false

    init(totalBytes: Int, seed: UInt64, promise: EventLoopPromise<ProbeClient.Result>) {
        self.totalBytes = totalBytes
        self.generator = SplitMix64(seed: seed)
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        self.pump(context: context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.pump(context: context)
    }

    private func pump(context: ChannelHandlerContext) {
        while context.channel.isWritable && self.sent < self.totalBytes {
            let length = min(64 * 1024, self.totalBytes - self.sent)
            var buffer = context.channel.allocator.buffer(capacity: length)
            self.generator.fill(&buffer, count: length)
            buffer.withUnsafeReadableBytes { self.sentHash.update(bufferPointer: $0) }
            self.sent += length
            context.write(NIOAny(buffer), promise: nil)
        }
        context.flush()
        if self.sent == self.totalBytes && !self.outputClosed {
            self.outputClosed = true
            context.close(mode: .output, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        self.received += buffer.readableBytes
        buffer.withUnsafeReadableBytes { self.receivedHash.update(bufferPointer: $0) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.finish()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // With the output already shut, NIO folds the peer's FIN into the close: the echo ended.
        guard self.outputClosed, !self.failed else {
            self.promise.fail(
                ProbeClient.Failure(
                    description: "connection closed after \(self.received) of \(self.totalBytes) bytes came back")
            )
            return
        }
        self.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.failed = true
        self.promise.fail(error)
        context.close(promise: nil)
    }

    private func finish() {
        guard !self.finished else { return }
        self.finished = true
        self.promise.succeed(
            ProbeClient.Result(
                sentBytes: self.sent,
                receivedBytes: self.received,
                sentDigest: Array(self.sentHash.finalize()),
                receivedDigest: Array(self.receivedHash.finalize())
            )
        )
    }
}
