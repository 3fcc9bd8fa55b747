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
        self.session.localDatagram(envelope.data, drained: true, now: self.session.now)
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
