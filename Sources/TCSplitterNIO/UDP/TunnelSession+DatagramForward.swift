import NIOCore
import TCSplitterCore

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
