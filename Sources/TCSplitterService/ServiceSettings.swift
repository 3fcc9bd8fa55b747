import NIOCore
import TCSplitterCore

/// How an end runs as a service: status reports, metrics, and shutdown (`--stats`, `--metrics`,
/// `--grace-period`). Plain values with the defaults of the flags.
public struct ServiceSettings: Hashable, Sendable {
    /// Time between periodic status reports; `nil` reports only on SIGUSR1.
    public var statsInterval: TimeAmount? = nil
    /// Where Prometheus metrics are served over HTTP; `nil` serves none.
    public var metricsAddress: EndpointAddress? = nil
    /// How long open sessions may take to finish after SIGINT or SIGTERM.
    public var gracePeriod: TimeAmount = .seconds(10)

    /// The defaults.
    public init() {}
}
