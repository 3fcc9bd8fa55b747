import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO

/// A TCP proxy that kills or stalls a chosen share of the connections through it, mid-stream: the
/// fault injector of the chaos tests (`tcsplitter chaos-proxy`).
///
/// Each accepted connection is relayed to `target`. With probability `killRate` it is marked to
/// die after a random number of bytes (1...`killWithinBytes`, counted in both directions); when
/// that many bytes have passed, both sides are reset (SO_LINGER 0), cutting whatever frame was in
/// flight. With probability `stallRate` it instead goes silent at that point: it stays open but
/// relays nothing more, in either direction (a path that stopped without an error). Decisions come
/// from a seeded generator, so a run can be repeated.
public final class FaultInjectingProxy: Sendable {
    /// What the proxy has done so far.
    public struct Counts: Sendable, Hashable {
        /// Connections accepted.
        public var accepted = 0
        /// Connections killed mid-stream.
        public var killed = 0
        /// Connections stalled mid-stream.
        public var stalled = 0
        /// Bytes relayed from the accepted side to the target.
        public var bytesToTarget = 0
        /// Bytes relayed from the target back to the accepted side.
        public var bytesFromTarget = 0
    }

    private struct State {
        var generator: SplitMix64
        var counts = Counts()
    }

    private let target: SocketAddress
    private let killRate: Double
    private let stallRate: Double
    private let killWithinBytes: Int
    private let state: NIOLockedValueBox<State>

    /// A proxy to `target` killing `killRate` (0...1) of connections within their first
    /// `killWithinBytes` bytes.
    public init(target: SocketAddress, killRate: Double, stallRate: Double = 0, killWithinBytes: Int, seed: UInt64) {
        self.target = target
        self.killRate = min(1, max(0, killRate))
        self.stallRate = min(1 - self.killRate, max(0, stallRate))
        self.killWithinBytes = max(1, killWithinBytes)
        self.state = NIOLockedValueBox(State(generator: SplitMix64(seed: seed)))
    }

    /// What the proxy has done so far.
    public var counts: Counts { self.state.withLockedValue { $0.counts } }

    /// Binds `host:port` on `group` and relays until the returned channel is closed.
    public func start(host: String, port: Int, group: EventLoopGroup) -> EventLoopFuture<Channel> {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                self.relay(inbound)
            }
            .bind(host: host, port: port)
    }

    private func relay(_ inbound: Channel) -> EventLoopFuture<Void> {
        let (budget, stall): (Int?, Bool) = self.state.withLockedValue { state in
            state.counts.accepted += 1
            let roll = Double(state.generator.next() >> 11) / Double(1 << 53)
            guard roll < self.killRate + self.stallRate else { return (nil, false) }
            let stall = roll >= self.killRate
            if stall { state.counts.stalled += 1 } else { state.counts.killed += 1 }
            return (Int(state.generator.next() % UInt64(self.killWithinBytes)) + 1, stall)
        }
        let fuse = ProxyFuse(bytesLeft: budget, stalls: stall)
        return ClientBootstrap(group: inbound.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
            .connect(to: self.target)
            .flatMap { outbound in
                let state = self.state
                let (left, right) = RelayHandler.pair(fuse: fuse) { toTarget, bytes in
                    state.withLockedValue { state in
                        if toTarget {
                            state.counts.bytesToTarget += bytes
                        } else {
                            state.counts.bytesFromTarget += bytes
                        }
                    }
                }
                do {
                    try inbound.pipeline.syncOperations.addHandler(left)
                    try outbound.pipeline.syncOperations.addHandler(right)
                } catch {
                    return inbound.eventLoop.makeFailedFuture(error)
                }
                return inbound.eventLoop.makeSucceededVoidFuture()
            }
            .flatMapError { error in
                inbound.close(promise: nil)
                return inbound.eventLoop.makeFailedFuture(error)
            }
    }
}

/// The bytes a doomed connection may still carry (nil: it lives). Shared by its two relays,
/// which run on one event loop.
final class ProxyFuse: @unchecked Sendable {
    var bytesLeft: Int?
    /// Whether the fuse stalls the connection (silence) rather than resetting it.
    let stalls: Bool
    var blown = false
    init(bytesLeft: Int?, stalls: Bool) {
        self.bytesLeft = bytesLeft
        self.stalls = stalls
    }
}

/// One side of a relay: reads from its channel and writes to its partner's, with backpressure,
/// half-close passed through, and the fuse that resets both sides.
final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private let fuse: ProxyFuse
    private var pendingRead = false
    /// Whether this side reads what goes to the target (the accepted side).
    private let towardTarget: Bool
    private let relayed: @Sendable (_ toTarget: Bool, _ bytes: Int) -> Void

    private init(fuse: ProxyFuse, towardTarget: Bool, relayed: @escaping @Sendable (Bool, Int) -> Void) {
        self.fuse = fuse
        self.towardTarget = towardTarget
        self.relayed = relayed
    }

    /// The two sides of one relayed connection; `relayed` counts the bytes each way.
    static func pair(
        fuse: ProxyFuse,
        relayed: @escaping @Sendable (_ toTarget: Bool, _ bytes: Int) -> Void = { _, _ in }
    ) -> (RelayHandler, RelayHandler) {
        let left = RelayHandler(fuse: fuse, towardTarget: true, relayed: relayed)
        let right = RelayHandler(fuse: fuse, towardTarget: false, relayed: relayed)
        left.partner = right
        right.partner = left
        return (left, right)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Reads are manual (backpressure); the first one starts once the channel is active.
        if context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.fuse.blown else { return }  // a stalled connection relays nothing more
        var buffer = self.unwrapInboundIn(data)
        if let left = self.fuse.bytesLeft {
            if buffer.readableBytes >= left {
                if left > 1 { self.partner?.write(buffer.readSlice(length: left - 1)!) }
                self.blow()
                return
            }
            self.fuse.bytesLeft = left - buffer.readableBytes
        }
        self.relayed(self.towardTarget, buffer.readableBytes)
        self.partner?.write(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.context?.flush()
        if self.partner?.context?.channel.isWritable ?? false {
            context.read()
        } else {
            self.pendingRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let partner = self.partner, partner.pendingRead {
            partner.pendingRead = false
            partner.context?.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.partner?.shutOutputAfterPendingWrites()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Passes a half-close on without cutting what is still queued: NIO turns an output close into
    /// a full close (failing queued writes) once the input is shut, so it waits for a flushed
    /// empty write, which completes after every write before it.
    private func shutOutputAfterPendingWrites() {
        self.closeAfterPendingWrites(mode: .output)
    }

    private func closeAfterPendingWrites(mode: CloseMode) {
        guard let context = self.context else { return }
        let barrier = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: barrier)
        let channel = context.channel
        barrier.futureResult.whenComplete { _ in channel.close(mode: mode, promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.fuse.blown {
            self.partner?.closeAfterPendingWrites(mode: .all)
        } else if self.fuse.stalls {
            self.partner?.context?.close(promise: nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.blow()
    }

    private func write(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func blow() {
        guard !self.fuse.blown else { return }
        self.fuse.blown = true
        guard !self.fuse.stalls else { return }  // stays open, silent; closes when a side does
        self.context?.channel.closeWithReset()
        self.partner?.context?.channel.closeWithReset()
    }
}
