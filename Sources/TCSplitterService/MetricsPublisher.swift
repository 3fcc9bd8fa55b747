import CoreMetrics
import NIOConcurrencyHelpers
import TCSplitterCore

/// Publishes an end's snapshot into swift-metrics, so whatever backend is bootstrapped (here
/// swift-prometheus) serves the same figures as the status report.
///
/// The data path never calls into swift-metrics: it adds to plain integers on the event loop,
/// and this publisher is called with a snapshot at scrape time. Counters only grow, so each is
/// incremented by what its total grew since the last publish; gauges are set.
public final class MetricsPublisher: Sendable {
    /// A counter and the total it follows.
    private struct CounterMetric {
        let counter: Counter
        let total: @Sendable (EndStatistics) -> Int
    }

    /// A gauge and the value it shows.
    private struct GaugeMetric {
        let gauge: Gauge
        let value: @Sendable (EndStatistics) -> Int
    }

    private let counters: [CounterMetric]
    private let gauges: [GaugeMetric]
    /// The totals each counter was last brought to (one publish at a time).
    private let published: NIOLockedValueBox<[Int]>

    /// Metrics of an end of `role`, made by `factory` (the bootstrapped one by default).
    public init(role: Role, factory: any MetricsFactory = MetricsSystem.factory) {
        func counter(
            _ name: String, _ dimensions: [(String, String)] = [], _ total: @escaping @Sendable (EndStatistics) -> Int
        ) -> CounterMetric {
            CounterMetric(counter: Counter(label: name, dimensions: dimensions, factory: factory), total: total)
        }
        func gauge(
            _ name: String, _ dimensions: [(String, String)] = [], _ value: @escaping @Sendable (EndStatistics) -> Int
        ) -> GaugeMetric {
            GaugeMetric(gauge: Gauge(label: name, dimensions: dimensions, factory: factory), value: value)
        }
        var counters = [
            counter("tcsplitter_sessions_opened_total") { $0.counters.sessionsOpened },
            counter("tcsplitter_sessions_ended_total", [("outcome", "closed")]) { $0.counters.sessionsClosed },
            counter("tcsplitter_sessions_ended_total", [("outcome", "aborted")]) { $0.counters.sessionsAborted },
            counter("tcsplitter_stream_bytes_total", [("direction", "sent")]) { $0.counters.bytesSent },
            counter("tcsplitter_stream_bytes_total", [("direction", "received")]) { $0.counters.bytesReceived },
            counter("tcsplitter_payloads_total", [("direction", "sent")]) { $0.counters.payloadsSent },
            counter("tcsplitter_payloads_total", [("direction", "received")]) { $0.counters.payloadsReceived },
            counter("tcsplitter_payloads_resent_total") { $0.counters.payloadsResent },
            counter("tcsplitter_resend_requests_total") { $0.counters.resendRequests },
            counter("tcsplitter_fec_rebuilds_total") { $0.counters.fecRebuilds },
            counter("tcsplitter_skips_total") { $0.counters.skips },
            counter("tcsplitter_skipped_bytes_total") { $0.counters.skippedBytes },
            counter("tcsplitter_bad_input_total") { $0.badInput },
            counter("tcsplitter_orphan_payloads_total") { $0.counters.orphanPayloads },
            counter("tcsplitter_wire_bytes_total") { $0.counters.wireBytesSent },
            counter("tcsplitter_acknowledged_bytes_total") { $0.counters.bytesAcknowledged },
        ]
        var gauges = [
            gauge("tcsplitter_build_info", [("version", TCSplitterVersion.current), ("role", "\(role)")]) { _ in 1 },
            gauge("tcsplitter_uptime_seconds") { Int($0.uptime.nanoseconds / 1_000_000_000) },
            gauge("tcsplitter_sessions_open") { $0.sessionsOpen },
            gauge("tcsplitter_buffered_bytes", [("buffer", "send")]) { $0.sendBufferedBytes },
            gauge("tcsplitter_buffered_bytes", [("buffer", "receive")]) { $0.receiveBufferedBytes },
            gauge("tcsplitter_buffered_bytes", [("buffer", "queued")]) { $0.queuedBytes },
            gauge("tcsplitter_buffer_limit_bytes", [("buffer", "send")]) { $0.bufferLimitBytes },
            gauge("tcsplitter_buffer_limit_bytes", [("buffer", "receive")]) { $0.bufferLimitBytes },
            gauge("tcsplitter_memory_bound_bytes") { $0.memoryBoundBytes },
            gauge("tcsplitter_pool_connections") { $0.poolConnections },
            gauge("tcsplitter_wire_ratio_percent") { Int(($0.wireRatio * 100).rounded()) },
        ]
        for reason in SessionEndReason.Kind.allCases {
            counters.append(
                counter("tcsplitter_sessions_ended_by_reason_total", [("reason", reason.rawValue)]) {
                    $0.counters.sessionsEnded[reason] ?? 0
                })
        }
        for kind in ConnectionKind.allCases {
            let dimensions = [("kind", "\(kind)")]
            counters.append(
                counter("tcsplitter_connections_opened_total", dimensions) { $0.counters.connectionsOpened[kind] ?? 0 })
            gauges.append(gauge("tcsplitter_connections_open", dimensions) { $0.connectionsOpen[kind] ?? 0 })
        }
        self.counters = counters
        self.gauges = gauges
        self.published = NIOLockedValueBox(Array(repeating: 0, count: counters.count))
    }

    /// Brings every metric to `statistics`.
    public func publish(_ statistics: EndStatistics) {
        self.published.withLockedValue { published in
            for (index, metric) in self.counters.enumerated() {
                let total = metric.total(statistics)
                if total > published[index] {
                    metric.counter.increment(by: total - published[index])
                    published[index] = total
                }
            }
            for metric in self.gauges { metric.gauge.record(metric.value(statistics)) }
        }
    }
}
