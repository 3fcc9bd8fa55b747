import ServiceLifecycle
import TCSplitterCore
import TCSplitterNIO
import UnixSignals

/// Prints an end's status report: the full block on SIGUSR1 (and the state of every link and
/// session in the log), and every `interval` (`--stats N`)
/// when one is set, as the block in a log or as one line updated in place on a terminal. Rates
/// are since the previous report.
///
/// A `Service` that runs until graceful shutdown; it comes before the tunnel in the service group,
/// so it is shut down after the tunnel has drained and SIGUSR1 works during the drain.
public struct StatusReporter: Service {
    /// What prompts a report.
    private enum Trigger: Sendable {
        case signal
        case tick
    }

    private let end: any TunnelEnd
    private let signals: UnixSignalsSequence
    private let interval: Duration?
    private let output: StatusOutput

    /// Reports on `end` when `signals` (SIGUSR1) arrive, and every `interval` if set.
    public init(end: any TunnelEnd, signals: UnixSignalsSequence, interval: Duration?, output: StatusOutput) {
        self.end = end
        self.signals = signals
        self.interval = interval
        self.output = output
    }

    public func run() async throws {
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [signals] in
                for await _ in signals { continuation.yield(.signal) }
            }
            if let interval = self.interval {
                group.addTask {
                    while (try? await Task.sleep(for: interval)) != nil { continuation.yield(.tick) }
                }
            }
            group.addTask { await self.report(on: triggers) }
            try? await gracefulShutdown()
            continuation.finish()
            group.cancelAll()
        }
    }

    /// Takes a snapshot and writes a report for each trigger, until the triggers end.
    private func report(on triggers: AsyncStream<Trigger>) async {
        var previous: EndStatistics?
        for await trigger in triggers {
            if trigger == .signal { self.end.logState() }
            guard let statistics = try? await self.end.statistics().get() else { continue }
            if trigger == .tick && self.output.isTerminal {
                self.output.updateLine(StatusReport.line(statistics, since: previous))
            } else {
                self.output.print(StatusReport.block(statistics, since: previous))
            }
            previous = statistics
        }
        self.output.endLine()
    }
}
