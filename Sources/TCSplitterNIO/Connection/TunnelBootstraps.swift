import Logging
import NIOCore
import NIOPosix
import TCSplitterCore

/// The socket options every end applies, in one place.
enum TunnelBootstraps {
    /// A dialer of tunnel connections (client → server): no Nagle delay, half-close, DSCP.
    static func tunnelDialer(on eventLoop: EventLoop, configuration: TunnelConfiguration) -> ClientBootstrap {
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.dialTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
        if configuration.typeOfService != 0 {
            bootstrap = bootstrap.channelOption(
                ChannelOptions.ipTypeOfService, value: SocketOptionValue(configuration.typeOfService))
        }
        return bootstrap
    }

    /// A listener for tunnel connections (server).
    static func tunnelListener(on eventLoop: EventLoop, configuration: TunnelConfiguration) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if configuration.typeOfService != 0 {
            bootstrap = bootstrap.childChannelOption(
                ChannelOptions.ipTypeOfService,
                value: SocketOptionValue(configuration.typeOfService)
            )
        }
        return bootstrap
    }

    /// A listener for local applications (client `--listen`): reads are driven by the session.
    static func localListener(on eventLoop: EventLoop) -> ServerBootstrap {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
    }

    /// A dialer of the forward service (server): reads are driven by the session.
    static func forwardDialer(on eventLoop: EventLoop, configuration: TunnelConfiguration) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.dialTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
    }

    /// The frame decoder and connection handler of a tunnel connection.
    static func addTunnelHandlers(
        to channel: Channel,
        handler: TunnelConnectionHandler,
        limits: FrameLimits,
        congestionControl: String? = nil,
        logger: Logger? = nil
    ) throws {
        if let congestionControl, let logger { CongestionControl.apply(congestionControl, to: channel, logger: logger) }
        try channel.pipeline.syncOperations.addHandlers([
            // The reader rejects an oversize frame from its header and holds at most one
            // partial frame. It hands frames to the handler directly (its sink): nothing may be
            // added between the two.
            FrameReader(limits: limits, security: handler.security, sink: handler),
            handler,
        ])
    }
}

extension ClientBootstrap {
    /// Dials `endpoint`. An address literal (the usual `--rFling 203.0.113.7:9000`) is connected
    /// to directly; only a host name goes through NIO's resolver and Happy Eyeballs, which cost a
    /// getaddrinfo call on another thread and a hop back per dial (the client dials hundreds of
    /// connections a second at the default budget on a fast link).
    func connect(to endpoint: EndpointAddress) -> EventLoopFuture<Channel> {
        if let address = try? SocketAddress(ipAddress: endpoint.dialHost, port: endpoint.port) {
            return self.connect(to: address)
        }
        return self.connect(host: endpoint.dialHost, port: endpoint.port)
    }
}
