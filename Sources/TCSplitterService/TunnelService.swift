import Logging
import NIOCore
import ServiceLifecycle
import TCSplitterCore
import TCSplitterNIO

/// Runs a started tunnel end until graceful shutdown, then drains it: no new sessions, and the
/// open ones get up to `gracePeriod` to finish before they are aborted and the end stops. When the
/// task is cancelled (a second SIGINT), the end stops at once.
public struct TunnelService: Service {
    private let end: any TunnelEnd
    private let gracePeriod: TimeAmount
    private let logger: Logger

    /// A service for `end`, already started.
    public init(end: any TunnelEnd, gracePeriod: TimeAmount, logger: Logger) {
        self.end = end
        self.gracePeriod = gracePeriod
        self.logger = logger
    }

    public func run() async throws {
        let end = self.end
        do {
            try await gracefulShutdown()
        } catch {
            self.logger.notice("stopping at once: every open session is aborted")
            try? await end.stop().get()
            return
        }
        let outcome = await withTaskCancellationHandler {
            try? await end.drain(gracePeriod: self.gracePeriod).get()
        } onCancel: {
            _ = end.stop()
        }
        switch outcome {
        case .drained(let sessions):
            self.logger.info("drained: \(sessions) session(s) finished; stopping")
        case .gracePeriodOver(let left):
            self.logger.warning(
                "grace period of \(self.gracePeriod.milliseconds / 1000) s over: aborting \(left) open session(s)"
            )
        case nil:
            self.logger.notice("stopping at once: every open session is aborted")
        }
        try? await end.stop().get()
    }
}
