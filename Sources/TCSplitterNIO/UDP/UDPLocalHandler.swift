import NIOCore
import TCSplitterCore

/// Sits on the server's UDP socket of one session (connected to `--forward`) and hands its
/// datagrams to the `TunnelSession`. Reading is manual (`autoRead` off), as for TCP: the session
/// reads when its window and clocks allow; what the kernel buffer cannot hold meanwhile, it drops.
final class UDPLocalHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    /// Datagrams read per read cycle at most (NIO's `maxMessagesPerRead`).
    static let datagramsPerRead = 16

    private let session: TunnelSession
    private var datagramsInCycle = 0

    init(session: TunnelSession) {
        self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        self.datagramsInCycle += 1
        self.session.localDatagram(envelope.data, drained: true, now: .now())
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let drained = self.datagramsInCycle < Self.datagramsPerRead
        self.datagramsInCycle = 0
        self.session.datagramReadComplete(drained: drained)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.session.localChannelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A connected UDP socket reports ICMP errors (nothing listens at --forward yet, say) on
        // later calls. The service may come back, so the session goes on; the error is logged.
        TunnelSession.datagramLog.log(self.session.logger, "UDP socket to the forward address: \(error)")
    }
}

/// The server's per-session local side: its socket connected to `--forward`.
final class ConnectedDatagramPort: DatagramPort {
    private let channel: Channel

    init(channel: Channel) {
        self.channel = channel
    }

    var isWritable: Bool { self.channel.isWritable }

    func write(_ datagram: ByteBuffer) {
        self.channel.write(datagram, promise: nil)
    }

    func flush() {
        self.channel.flush()
    }

    func sessionEnded() {}  // the session closes its local channel itself
}

extension TunnelSession {
    /// Server: opens the session's UDP socket connected to `forward`, then tells the client the
    /// session is open (or that it failed).
    func openDatagramForward(_ forward: EndpointAddress) {
        let bound = NIOLoopBound(self, eventLoop: self.link.eventLoop)
        UDPBootstraps.forwardSocket(on: self.link.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPLocalHandler(session: bound.value))
                }
            }
            .connect(host: forward.dialHost, port: forward.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard self.phase == .opening else {
                        channel.close(promise: nil)
                        return
                    }
                    self.attach(localChannel: channel)
                    self.datagram?.port = ConnectedDatagramPort(channel: channel)
                    self.link.sendControl(.opened(self.id))
                    self.open()
                    self.logger.debug("udp session opened", metadata: ["forward": "\(forward)"])
                case .failure(let error):
                    self.logger.warning(
                        "udp session refused: cannot open a socket to the forward address \(forward): \(error)")
                    self.link.sendControl(
                        .openFailed(self.id, reason: "the server cannot reach its forward address: \(error)"))
                    self.localChannelFailed(.forwardUnreachable)
                }
            }
    }
}
