import Crypto
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO

/// Sends numbered datagrams of random sizes through a UDP echo path and checks that they come
/// back intact and in order (`tcsplitter udp-probe`, and the integration tests).
///
/// Windowed: at most `window` datagrams are in flight (sent, neither echoed nor given up on).
/// On loopback the kernel silently drops datagrams its socket buffers cannot hold, before they
/// reach the tunnel; keeping `window × maxBytes` well below those buffers means a loss counted
/// here is the tunnel's, not the kernel's. The echo keeps order, so a datagram that comes back
/// proves every earlier one still missing was lost; the tail is given up on after `lossTimeout`
/// without progress.
///
/// Datagram `i` of size `s` (drawn from `minBytes...maxBytes`): for `s >= 8`, `i` as a big-endian
/// u64, then pseudo-random bytes; below 8 bytes, pseudo-random bytes only (it is taken to be the
/// oldest in flight). Every echo is compared with the datagram sent, byte for byte, and SHA-256
/// digests over both sequences (each datagram with its length) are compared at the end.
public enum UDPProbeClient {
    /// What to send.
    public struct Plan: Sendable {
        /// Datagrams to send.
        public var count: Int
        /// Smallest and largest datagram, in bytes (at most 65,507).
        public var minBytes: Int
        public var maxBytes: Int
        /// Datagrams in flight at most.
        public var window: Int
        /// How long without an echo before the datagrams in flight count as lost.
        public var lossTimeout: TimeAmount
        /// Seed of sizes and contents.
        public var seed: UInt64

        /// A plan; see the type's notes.
        public init(count: Int, minBytes: Int, maxBytes: Int, window: Int, lossTimeout: TimeAmount, seed: UInt64) {
            self.count = count
            self.minBytes = min(max(0, minBytes), 65_507)
            self.maxBytes = min(max(self.minBytes, maxBytes), 65_507)
            self.window = max(1, window)
            self.lossTimeout = lossTimeout
            self.seed = seed
        }
    }

    /// What one probe session saw.
    public struct Result: Sendable, CustomStringConvertible {
        /// Datagrams sent and echoed.
        public var sent = 0
        public var received = 0
        /// Datagrams that never came back (a later one did, or the tail timed out).
        public var lost = 0
        /// Echoes that differ from what was sent, and echoes older than one already seen.
        public var corrupt = 0
        public var reordered = 0
        /// Bytes of the datagrams sent and echoed.
        public var bytesSent = 0
        public var bytesReceived = 0
        /// SHA-256 of every datagram sent / echoed, each with its length, in order.
        public var sentDigest: [UInt8] = []
        public var receivedDigest: [UInt8] = []
        /// How long the session took.
        public var elapsed: TimeAmount = .zero

        /// Nothing sent yet.
        public init() {}

        /// Whether every datagram came back intact and in order.
        public var isExact: Bool {
            self.received == self.sent && self.lost == 0 && self.corrupt == 0 && self.reordered == 0
                && self.sentDigest == self.receivedDigest
        }

        /// The counts, for messages.
        public var description: String {
            "sent \(self.sent), received \(self.received), lost \(self.lost), corrupt \(self.corrupt), reordered \(self.reordered), digests \(self.sentDigest == self.receivedDigest ? "equal" : "differ")"
        }
    }

    /// Why a probe failed outright.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened.
        public var description: String
    }

    /// Runs one session from its own socket to `host:port` (an echo path), within `timeout`.
    public static func run(
        host: String,
        port: Int,
        plan: Plan,
        timeout: TimeAmount,
        group: EventLoopGroup
    ) -> EventLoopFuture<Result> {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Result.self)
        let handler = NIOLoopBoundBox.makeBoxSendingValue(
            UDPProbeHandler(plan: plan, promise: promise), eventLoop: eventLoop)
        let timeoutTask = eventLoop.scheduleTask(in: timeout) {
            handler.value.timedOut(after: timeout)
        }
        promise.futureResult.whenComplete { _ in timeoutTask.cancel() }
        DatagramBootstrap(group: eventLoop)
            .channelOption(
                .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: UDPBootstraps.receiveBufferBytes)
            )
            .channelOption(.maxMessagesPerRead, value: 64)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(UDPBootstraps.socketBufferBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
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

/// Sends the plan's datagrams with a bounded window and checks every echo.
final class UDPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let plan: UDPProbeClient.Plan
    private let promise: EventLoopPromise<UDPProbeClient.Result>
    private var sizes: SplitMix64
    private var contents: SplitMix64
    private var result = UDPProbeClient.Result()
    /// Datagrams in flight, oldest first, with their index.
    private var inFlight: [(index: UInt64, data: ByteBuffer)] = []
    private var inFlightHead = 0
    private var nextIndex: UInt64 = 0
    private var sentHash = SHA256()
    private var receivedHash = SHA256()
    private var lastProgress = NIODeadline.now()
    private var started = NIODeadline.now()
    private var lossTimer: RepeatedTask?
    private var done = false

    init(plan: UDPProbeClient.Plan, promise: EventLoopPromise<UDPProbeClient.Result>) {
        self.plan = plan
        self.promise = promise
        self.sizes = SplitMix64(seed: plan.seed)
        self.contents = SplitMix64(seed: plan.seed ^ 0xC0FF_EE00_D474_6A3D)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.started = .now()
        self.lastProgress = self.started
        let check = min(self.plan.lossTimeout, .milliseconds(100))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.lossTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { _ in
            let (handler, context) = loopBound.value
            handler.checkTimeout(context: context)
        }
        self.fill(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        let echo = self.unwrapInboundIn(data).data
        self.result.received += 1
        self.result.bytesReceived += echo.readableBytes
        Self.hash(echo, into: &self.receivedHash)
        self.lastProgress = .now()
        let index = echo.readableBytes >= 8 ? echo.getInteger(at: echo.readerIndex, as: UInt64.self)! : self.oldestIndex
        guard let index, let position = self.position(of: index) else {
            // Older than what is in flight: already given up on, or a duplicate.
            self.result.reordered += 1
            return
        }
        self.result.lost += position - self.inFlightHead
        if self.inFlight[position].data != echo { self.result.corrupt += 1 }
        self.inFlightHead = position + 1
        self.compact()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.fill(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP "port unreachable" before the tunnel listens: the datagrams count as lost.
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(failure: UDPProbeClient.Failure(description: "the probe's socket closed"))
        context.fireChannelInactive()
    }

    private var oldestIndex: UInt64? {
        self.inFlightHead < self.inFlight.count ? self.inFlight[self.inFlightHead].index : nil
    }

    private func position(of index: UInt64) -> Int? {
        guard let oldest = self.oldestIndex, index >= oldest else { return nil }
        let position = self.inFlightHead + Int(index - oldest)
        return position < self.inFlight.count ? position : nil
    }

    private func compact() {
        if self.inFlightHead == self.inFlight.count {
            self.inFlight.removeAll(keepingCapacity: true)
            self.inFlightHead = 0
        } else if self.inFlightHead > 1024 {
            self.inFlight.removeFirst(self.inFlightHead)
            self.inFlightHead = 0
        }
    }

    private func fill(context: ChannelHandlerContext) {
        guard !self.done else { return }
        var wrote = false
        while self.inFlight.count - self.inFlightHead < self.plan.window, Int(self.nextIndex) < self.plan.count {
            let datagram = self.make(index: self.nextIndex)
            if self.inFlight.count == self.inFlightHead { self.lastProgress = .now() }
            self.inFlight.append((self.nextIndex, datagram))
            self.nextIndex += 1
            self.result.sent += 1
            self.result.bytesSent += datagram.readableBytes
            Self.hash(datagram, into: &self.sentHash)
            context.write(NIOAny(datagram), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
        if Int(self.nextIndex) == self.plan.count && self.inFlight.count == self.inFlightHead {
            self.finish(failure: nil)
        }
    }

    private func make(index: UInt64) -> ByteBuffer {
        let span = UInt64(self.plan.maxBytes - self.plan.minBytes + 1)
        let size = self.plan.minBytes + Int(self.sizes.next() % span)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        if size >= 8 {
            buffer.writeInteger(index)
            self.contents.fill(&buffer, count: size - 8)
        } else {
            self.contents.fill(&buffer, count: size)
        }
        return buffer
    }

    private func checkTimeout(context: ChannelHandlerContext) {
        guard !self.done, self.inFlight.count > self.inFlightHead,
            NIODeadline.now() - self.lastProgress >= self.plan.lossTimeout
        else { return }
        self.result.lost += self.inFlight.count - self.inFlightHead
        self.inFlightHead = self.inFlight.count
        self.compact()
        self.fill(context: context)
    }

    /// Fails the probe for running out of time, saying how far it got.
    func timedOut(after timeout: TimeAmount) {
        self.finish(
            failure: UDPProbeClient.Failure(
                description:
                    "the probe did not finish within \(timeout.nanoseconds / 1_000_000) ms: \(self.result), \(self.inFlight.count - self.inFlightHead) in flight"
            )
        )
    }

    private func finish(failure: Error?) {
        guard !self.done else { return }
        self.done = true
        self.lossTimer?.cancel()
        if let failure {
            self.promise.fail(failure)
            return
        }
        self.result.elapsed = .now() - self.started
        self.result.sentDigest = Array(self.sentHash.finalize())
        self.result.receivedDigest = Array(self.receivedHash.finalize())
        self.promise.succeed(self.result)
    }

    private static func hash(_ datagram: ByteBuffer, into hash: inout SHA256) {
        withUnsafeBytes(of: UInt32(datagram.readableBytes).bigEndian) { hash.update(bufferPointer: $0) }
        datagram.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
    }
}
