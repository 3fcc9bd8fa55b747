import ArgumentParser
import NIOCore
import TCSplitterCore
import TCSplitterService

/// The flags for running an end as a service: status reports, metrics and graceful shutdown.
/// Kept apart from `TunnelOptions` (the tunnel's own flags); each value is parsed by its type
/// when the command line is read, so every refusal names its flag.
struct ServiceOptions: ParsableArguments {
    @Option(
        name: .customLong("stats"), parsing: .unconditional,
        help:
            "Seconds between status reports on standard error (one line updated in place on a terminal, a block of plain lines in a log). 0 = only on SIGUSR1, which always prints one.",
        parser: Seconds.parser()
    )
    var stats = Seconds(0)

    @Option(
        name: .customLong("metrics"),
        help:
            "host:port to serve Prometheus metrics on over HTTP (GET /metrics; port 0 picks one, printed in the ready line as metrics=). 0 = off.",
        parser: AddressOrOff.parse
    )
    var metrics = AddressOrOff.off

    @Option(
        name: .customLong("grace-period"), parsing: .unconditional,
        help:
            "Seconds open sessions may take to finish after SIGINT or SIGTERM (no new ones are taken meanwhile) before they are aborted; a second SIGINT stops at once.",
        parser: Seconds.parser()
    )
    var gracePeriod = Seconds(10)

    @Option(name: .customLong("log-level"), help: "The least severe messages logged.")
    var logLevel = LogLevel.info

    /// The settings these flags describe.
    func settings() -> ServiceSettings {
        var settings = ServiceSettings()
        settings.statsInterval = self.stats.count > 0 ? self.stats.timeAmount : nil
        settings.metricsAddress = self.metrics.address
        settings.gracePeriod = self.gracePeriod.timeAmount
        return settings
    }
}
