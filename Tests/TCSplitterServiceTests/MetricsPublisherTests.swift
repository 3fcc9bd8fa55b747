import NIOCore
import Prometheus
import TCSplitterCore
import TCSplitterService
import Testing

/// Snapshots published into a swift-prometheus registry through swift-metrics.
@Suite struct MetricsPublisherTests {
    /// A publisher writing into a fresh registry (no global bootstrap).
    static func publisher() -> (MetricsPublisher, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        return (MetricsPublisher(role: .server, factory: PrometheusMetricsFactory(registry: registry)), registry)
    }

    static func snapshot(bytesSent: Int, sessionsOpen: Int) -> EndStatistics {
        var statistics = EndStatistics(role: .server, uptime: .seconds(3), windowBytes: 1024, maxSessions: 8)
        statistics.counters.bytesSent = bytesSent
        statistics.counters.connectionsOpened[.fling] = 6
        statistics.sessionsOpen = sessionsOpen
        statistics.connectionsOpen[.sync] = 1
        return statistics
    }

    /// The value of the sample line `name` (with its labels) in `text`.
    static func value(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test("counters show the snapshot's totals, gauges its current values")
    func firstPublish() {
        let (publisher, registry) = Self.publisher()
        publisher.publish(Self.snapshot(bytesSent: 1000, sessionsOpen: 2))
        let text = registry.emitToString()
        #expect(Self.value("tcsplitter_stream_bytes_total{direction=\"sent\"}", in: text) == 1000)
        #expect(Self.value("tcsplitter_connections_opened_total{kind=\"fling\"}", in: text) == 6)
        #expect(Self.value("tcsplitter_connections_opened_total{kind=\"lasso\"}", in: text) == 0)
        #expect(Self.value("tcsplitter_connections_open{kind=\"sync\"}", in: text) == 1)
        #expect(Self.value("tcsplitter_sessions_open", in: text) == 2)
        #expect(Self.value("tcsplitter_buffer_limit_bytes{buffer=\"send\"}", in: text) == 2048)
        #expect(
            Self.value("tcsplitter_build_info{version=\"\(TCSplitterVersion.current)\",role=\"server\"}", in: text) == 1
        )
        #expect(text.contains("# TYPE tcsplitter_stream_bytes_total counter"))
    }

    @Test("a later snapshot moves counters to its totals (publishing one twice counts nothing twice)")
    func laterPublish() {
        let (publisher, registry) = Self.publisher()
        publisher.publish(Self.snapshot(bytesSent: 1000, sessionsOpen: 2))
        publisher.publish(Self.snapshot(bytesSent: 1000, sessionsOpen: 2))
        publisher.publish(Self.snapshot(bytesSent: 2500, sessionsOpen: 0))
        let text = registry.emitToString()
        #expect(Self.value("tcsplitter_stream_bytes_total{direction=\"sent\"}", in: text) == 2500)
        #expect(Self.value("tcsplitter_sessions_open", in: text) == 0)
    }
}
