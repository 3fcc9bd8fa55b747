import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import TCSplitterCore
import TCSplitterNIO

/// `--metrics ADDRESS`: serves an end's counters in the Prometheus text format over HTTP/1
/// (`GET /metrics`). Each scrape takes a snapshot on the end's event loop, publishes it into
/// swift-metrics (`MetricsPublisher`), and emits the swift-prometheus registry.
///
/// A `Service`: bound before the service group runs (so the ready line can name its address), it
/// closes its listener on graceful shutdown.
public final class MetricsServer: Service, Sendable {
    private let listener: Channel

    private init(listener: Channel) {
        self.listener = listener
    }

    /// The bound address (port 0 becomes a real port).
    public var localAddress: SocketAddress? { self.listener.localAddress }

    /// Binds `address` on `eventLoop` and serves `end`'s metrics through `publisher` from
    /// `registry` (the registry behind the bootstrapped swift-metrics factory).
    public static func bind(
        _ address: EndpointAddress,
        on eventLoop: EventLoop,
        end: any TunnelEnd,
        publisher: MetricsPublisher,
        registry: PrometheusCollectorRegistry
    ) async throws -> MetricsServer {
        let render: @Sendable () -> EventLoopFuture<ByteBuffer> = {
            end.statistics().map { statistics in
                publisher.publish(statistics)
                return ByteBuffer(bytes: registry.emitToBuffer())
            }
        }
        let listener = try await ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: address.bindHost, port: address.port)
            .get()
        return MetricsServer(listener: listener)
    }

    /// Serves until graceful shutdown (or cancellation), then closes the listener.
    public func run() async throws {
        try? await gracefulShutdown()
        try? await self.listener.close()
    }
}
