import Logging
import NIOCore

/// Waits, on an end's event loop, until its sessions have ended or a grace period has passed.
/// Checks the count every `checkInterval` (sessions end on their own schedule; a 50 ms check
/// costs nothing next to a grace period of seconds).
enum SessionDrain {
    /// How often the open sessions are counted.
    static let checkInterval: TimeAmount = .milliseconds(50)

    /// Resolves once `sessionsOpen()` is 0, or when `gracePeriod` has passed. Call on `eventLoop`.
    static func wait(
        on eventLoop: EventLoop,
        gracePeriod: TimeAmount,
        logger: Logger,
        sessionsOpen: @escaping () -> Int
    ) -> EventLoopFuture<DrainOutcome> {
        let initial = sessionsOpen()
        logger.info(
            "no new sessions; \(initial) open session(s) have up to \(gracePeriod.milliseconds / 1000) s to finish (--grace-period)"
        )
        let promise = eventLoop.makePromise(of: DrainOutcome.self)
        guard initial > 0 else {
            promise.succeed(.drained(sessions: 0))
            return promise.futureResult
        }
        let deadline = eventLoop.now + gracePeriod
        var check: RepeatingLoopTask?
        check = RepeatingLoopTask(eventLoop: eventLoop, interval: Self.checkInterval) {
            let open = sessionsOpen()
            if open == 0 {
                promise.succeed(.drained(sessions: initial))
            } else if eventLoop.now >= deadline {
                promise.succeed(.gracePeriodOver(sessionsLeft: open))
            } else {
                return
            }
            check?.cancel()
            check = nil
        }
        return promise.futureResult
    }
}
