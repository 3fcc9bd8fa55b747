import ArgumentParser
import NIOCore
import TCSplitterCore
import TCSplitterService

/// The flags for running an end as a service: status reports, metrics and graceful shutdown.
/// Kept apart from `TunnelOptions` (the tunnel's own flags); values are text parsed by Core's
/// parsers, so every error names its flag.
struct ServiceOptions: ParsableArguments {
    @Option(
        name: .customLong("stats"), parsing: .unconditional,
        help:
            "Seconds between status reports on standard error (one line updated in place on a terminal, a block of plain lines in a log). 0 = only on SIGUSR1, which always prints one."
    )
    var stats = "0"

    @Option(
        name: .customLong("metrics"),
        help:
            "host:port to serve Prometheus metrics on over HTTP (GET /metrics; port 0 picks one, printed in the ready line as metrics=). 0 = off."
    )
    var metrics = "0"

    @Option(
        name: .customLong("grace-period"), parsing: .unconditional,
        help:
            "Seconds open sessions may take to finish after SIGINT or SIGTERM (no new ones are taken meanwhile) before they are aborted; a second SIGINT stops at once."
    )
    var gracePeriod = "10"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    /// The settings these flags describe.
    func settings() throws(ConfigurationError) -> ServiceSettings {
        var settings = ServiceSettings()
        let stats = try FlagValue.integer(self.stats, flag: "--stats", in: 0...86_400, unit: " s")
        settings.statsInterval = stats > 0 ? .seconds(Int64(stats)) : nil
        settings.metricsAddress = try EndpointAddress.parse(self.metrics, flag: "--metrics")
        settings.gracePeriod = .seconds(
            Int64(try FlagValue.integer(self.gracePeriod, flag: "--grace-period", in: 0...86_400, unit: " s")))
        return settings
    }
}
