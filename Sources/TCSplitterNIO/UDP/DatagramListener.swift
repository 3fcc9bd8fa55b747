import Logging
import NIOCore
import TCSplitterCore

/// The client end's UDP side (`--protocol udp`): one socket on `--listen`, one session per source
/// address. A new address opens a session (within `--max-sessions`); its datagrams queue in the
/// session's window until the server opens it, and replies go back to that address from the
/// same socket. Loop-confined, like the client.
final class DatagramListener {
    private let link: TunnelLink
    private let configuration: TunnelConfiguration
    let logger: Logger
    private let badInput: RateLimitedLog
    private var channel: Channel?
    private var sessions: [SocketAddress: TunnelSession] = [:]
    private var readThisCycle: [ObjectIdentifier: TunnelSession] = [:]

    init(link: TunnelLink, configuration: TunnelConfiguration, logger: Logger, badInput: RateLimitedLog) {
        self.link = link
        self.configuration = configuration
        self.logger = logger
        self.badInput = badInput
    }

    /// Binds `listen`; the returned channel is the listener (closing it stops the UDP side).
    func bind(_ listen: EndpointAddress) -> EventLoopFuture<Channel> {
        let bound = NIOLoopBound(self, eventLoop: self.link.eventLoop)
        return UDPBootstraps.listener(on: self.link.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPListenerHandler(listener: bound.value))
                }
            }
            .bind(host: listen.bindHost, port: listen.port)
            .map { channel in
                bound.value.channel = channel
                return channel
            }
    }

    /// A datagram from `envelope.remoteAddress`.
    func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        let source = envelope.remoteAddress
        guard let session = self.sessions[source] ?? self.openSession(for: source) else { return }
        session.localDatagram(envelope.data, drained: true, now: session.now)
        self.readThisCycle[ObjectIdentifier(session)] = session
    }

    /// The read cycle ended: the sessions that got datagrams pack them.
    func readComplete() {
        let sessions = self.readThisCycle.values
        self.readThisCycle.removeAll(keepingCapacity: true)
        for session in sessions { session.localReadComplete() }
    }

    /// The listener closed (stop, or an error): every UDP session ends with it.
    func closed() {
        for session in Array(self.sessions.values) { session.shutdown() }
    }

    private func openSession(for source: SocketAddress) -> TunnelSession? {
        guard let channel = self.channel, channel.isActive else { return nil }
        guard let sessionConfiguration = self.link.newSessionConfiguration() else {
            self.badInput.log(
                self.logger,
                "dropping datagrams from \(source): \(self.link.sessions.count) sessions open (--max-sessions, --max-buffer)"
            )
            return nil
        }
        let id = SessionID.random()
        let session = TunnelSession(
            id: id, link: self.link, configuration: sessionConfiguration, logger: self.logger,
            now: self.link.eventLoop.now)
        session.logger[metadataKey: "app"] = "\(source)"
        session.datagram?.port = ListenerDatagramPort(listener: self, channel: channel, address: source)
        self.sessions[source] = session
        self.link.add(session)
        self.link.sendControl(session.openRequest)
        session.logger.debug("udp session opening")
        let openTimeout = self.configuration.dialTimeout * 3
        self.link.eventLoop.assumeIsolated().scheduleTask(in: openTimeout) {
            guard session.phase == .opening else { return }
            session.localChannelFailed(.openTimedOut(milliseconds: openTimeout.milliseconds))
        }
        return session
    }

    fileprivate func forget(_ address: SocketAddress) {
        self.sessions.removeValue(forKey: address)
    }
}

/// A client session's local side: the shared listener, writing to the session's source address.
private final class ListenerDatagramPort: DatagramPort {
    private unowned let listener: DatagramListener
    private let channel: Channel
    private let address: SocketAddress

    init(listener: DatagramListener, channel: Channel, address: SocketAddress) {
        self.listener = listener
        self.channel = channel
        self.address = address
    }

    var isWritable: Bool { self.channel.isWritable }

    func write(_ datagram: ByteBuffer) {
        self.channel.write(AddressedEnvelope(remoteAddress: self.address, data: datagram), promise: nil)
    }

    func flush() {
        self.channel.flush()
    }

    func sessionEnded() {
        self.listener.forget(self.address)
    }
}

/// Hands the client's `--listen` datagrams to the `DatagramListener`.
final class UDPListenerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let listener: DatagramListener

    init(listener: DatagramListener) {
        self.listener = listener
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.listener.received(self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.listener.readComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.listener.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An ICMP error for an earlier reply (the application's socket closed, say): not fatal.
        TunnelSession.datagramLog.log(self.listener.logger, "UDP listener: \(error)")
    }
}
