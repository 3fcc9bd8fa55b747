import ArgumentParser
import CoreMetrics
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import TCSplitterCore
import TCSplitterNIO
import TCSplitterService
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns flags into a running end, prints one `tcsplitter ready …` line on standard output once
/// it listens, and runs it as a service (swift-service-lifecycle): status reports on SIGUSR1 and
/// `--stats`, metrics on `--metrics`, and on SIGINT or SIGTERM a drain of up to `--grace-period`
/// before it exits 0; a second SIGINT exits 130 at once.
enum TunnelRunner {
    static func run(options: TunnelOptions, service: ServiceOptions, role: Role) async throws {
        var configuration: TunnelConfiguration
        let settings: ServiceSettings
        let level: Logger.Level
        do {
            settings = service.settings()
            configuration = try options.configuration(role: role)
            level = service.logLevel.loggerLevel
        } catch {
            throw self.fail(error)
        }
        let key: PreSharedKey?
        let keySource: String?
        do {
            (key, keySource) = try KeySource.load(flag: options.security.key, file: options.security.keyFile)
        } catch {
            throw self.fail(error)
        }
        let output = StatusOutput(isTerminal: isatty(STDERR_FILENO) != 0) { FileHandleOutput.standardError($0) }
        let logger = self.makeLogger(level: level, role: role, output: output)
        if options.client.rFlingR.address != nil || options.server.lFlingR.address != nil {
            logger.notice("--rFlingR/--lFlingR are ignored: the sync connection carries control both ways")
        }
        if configuration.autoCongestion {
            let decision = CongestionControl.autoChoice()
            configuration.congestionControl = decision.name
            logger.info("congestion control of the tunnel's connections: \(decision.reason) (--congestion auto)")
        }
        let sessions = configuration.effectiveMaxSessions
        logger.info(
            "memory bound: \(sessions) sessions x 2 x \(configuration.windowBytes >> 20) MiB window = \(sessions * 2 * configuration.windowBytes >> 20) MiB at most (--max-sessions, --window, --max-buffer)\(configuration.autoWindow ? "; --window auto gives sessions on long paths up to \(TunnelConfiguration.maxAutoWindowBytes >> 20) MiB, admitted while all windows fit --max-buffer (\(configuration.maxBufferBytes >> 20) MiB)" : "")"
        )
        let shards = configuration.fecDataShards + configuration.fecParityShards
        if configuration.fecDataShards > 0 && role == .client && configuration.connections < 2 * shards {
            logger.notice(
                "--conns \(configuration.connections) is small for --fec \(configuration.fecDataShards):\(configuration.fecParityShards): while connections are replaced, shards of one group share a connection, and one lost connection can cost a group several shards; \(2 * shards) or more keeps them apart"
            )
        }
        if let keySource {
            logger.info("connections authenticated and encrypted with the pre-shared key from \(keySource)")
            if keySource == "--key" {
                logger.notice(
                    "the key given with --key is visible to every user in ps; prefer --key-file or TCSPLITTER_KEY")
            }
        } else {
            logger.warning(
                "NO KEY (--key, --key-file or TCSPLITTER_KEY): anyone who can reach this end's ports can use the tunnel and read its traffic"
            )
        }

        // Trapped before the ready line, so no signal can end the process without a shutdown.
        let stopSignals = await ShutdownSignals.trap()
        let statusSignals = await UnixSignalsSequence(trapping: .sigusr1)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let started: StartedEnd
        do {
            started = try await self.start(
                role: role, configuration: configuration, settings: settings, key: key, on: group.next(), logger: logger
            )
        } catch {
            logger.critical("cannot start: \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        self.announce(started.readyFields)

        let reporter = StatusReporter(
            end: started.end,
            signals: statusSignals,
            interval: settings.statsInterval.map { .nanoseconds($0.nanoseconds) },
            output: output
        )
        // Shut down in reverse: the tunnel drains first, the reporter answers SIGUSR1 until the end.
        var services: [any Service] = [reporter]
        if let metrics = started.metrics { services.append(metrics) }
        services.append(TunnelService(end: started.end, gracePeriod: settings.gracePeriod, logger: logger))
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        var exitCode: Int32 = 0
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await serviceGroup.run() }
                tasks.addTask { try await ShutdownSignals.watch(stopSignals, group: serviceGroup, logger: logger) }
                try await tasks.next()
                tasks.cancelAll()
            }
        } catch is ShutdownSignals.Interrupted {
            exitCode = 130
        } catch {
            logger.error("stopped by an error: \(error)")
            exitCode = 1
        }
        try? await group.shutdownGracefully()
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// A started end, its metrics server if any, and the fields of its ready line.
    private struct StartedEnd {
        var end: any TunnelEnd
        var metrics: MetricsServer?
        var readyFields: String
    }

    /// Starts the end for `role` on `eventLoop`, and its metrics server when `--metrics` is set.
    private static func start(
        role: Role,
        configuration: TunnelConfiguration,
        settings: ServiceSettings,
        key: PreSharedKey?,
        on eventLoop: EventLoop,
        logger: Logger
    ) async throws -> StartedEnd {
        var started: StartedEnd
        switch role {
        case .client:
            let client = TunnelClient(configuration: configuration, eventLoop: eventLoop, logger: logger, key: key)
            let address = try await client.start().get()
            started = StartedEnd(end: client, readyFields: "role=client listen=\(address.ipAddressWithPort)")
            logger.info("client ready", metadata: ["listen": "\(address)", "server": "\(configuration.remoteFling!)"])
        case .server:
            let server = TunnelServer(configuration: configuration, eventLoop: eventLoop, logger: logger, key: key)
            let addresses = try await server.start().get()
            started = StartedEnd(
                end: server,
                readyFields:
                    "role=server fling=\(addresses.fling.ipAddressWithPort) sync=\(addresses.sync.ipAddressWithPort)"
                    + (addresses.lasso.map { " lasso=\($0.ipAddressWithPort)" } ?? "")
            )
            logger.info(
                "server ready",
                metadata: [
                    "fling": "\(addresses.fling)", "sync": "\(addresses.sync)",
                    "forward": "\(configuration.forward.map { "\($0)" } ?? "none (transparent clients only)")",
                ])
        }
        if let address = settings.metricsAddress {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            do {
                let metrics = try await MetricsServer.bind(
                    address, on: eventLoop, end: started.end, publisher: MetricsPublisher(role: role),
                    registry: registry
                )
                let bound = metrics.localAddress?.ipAddressWithPort ?? "\(address)"
                started.metrics = metrics
                started.readyFields += " metrics=\(bound)"
                logger.info("serving Prometheus metrics on http://\(bound)/metrics")
            } catch {
                try? await started.end.stop().get()
                throw error
            }
        }
        return started
    }

    /// Prints a configuration error as one line naming the flag, and exits 2.
    static func fail(_ error: Error) -> ExitCode {
        let message = (error as? ConfigurationError)?.description ?? "\(error)"
        FileHandleOutput.standardError("tcsplitter: \(message)\n")
        return ExitCode(2)
    }

    private static func announce(_ fields: String) {
        FileHandleOutput.standardOutput("tcsplitter ready \(fields)\n")
    }

    /// Logs to standard error through `output`, which keeps a terminal's status line below them.
    static func makeLogger(level: Logger.Level, role: Role, output: StatusOutput) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler(label: label, stream: output.logStream)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "tcsplitter")
        logger.logLevel = level
        logger[metadataKey: "end"] = "\(role)"
        return logger
    }
}

extension SocketAddress {
    /// `ip:port`, or `[ip]:port` for IPv6.
    var ipAddressWithPort: String {
        let ip = self.ipAddress ?? "?"
        let port = self.port ?? 0
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// Unbuffered writes to the standard streams (lines must reach a pipe at once).
enum FileHandleOutput {
    static func standardOutput(_ text: String) {
        self.write(text, to: STDOUT_FILENO)
    }

    static func standardError(_ text: String) {
        self.write(text, to: STDERR_FILENO)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { pointer in
                Glibc.write(descriptor, pointer.baseAddress! + offset, pointer.count - offset)
            }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Waits for the first of some signals, delivered through Dispatch rather than a C handler.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let queue = DispatchQueue(label: "tcsplitter.signals")
            let once = OnceFlag()
            var sources: [DispatchSourceSignal] = []
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    guard once.claim() else { return }
                    continuation.resume(returning: number)
                }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var kept: [DispatchSourceSignal] = []
    static func keep(_ sources: [DispatchSourceSignal]) { self.kept += sources }
}

/// A flag that can be claimed once, from any thread.
final class OnceFlag: Sendable {
    private let claimed = NIOLockedValueBox(false)
    func claim() -> Bool {
        self.claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}
