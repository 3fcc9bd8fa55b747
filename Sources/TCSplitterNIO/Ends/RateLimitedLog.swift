import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Logs bad input at most `burst` times per `period`, then one summary of what was suppressed, so
/// a flood of garbage cannot flood the log. Counts every event either way.
final class RateLimitedLog: Sendable {
    private struct State {
        var windowStart: NIODeadline = .distantPast
        var loggedInWindow = 0
        var suppressed = 0
        var total = 0
    }

    private let state = NIOLockedValueBox(State())
    private let burst: Int
    private let period: TimeAmount

    init(burst: Int = 10, period: TimeAmount = .seconds(10)) {
        self.burst = burst
        self.period = period
    }

    /// Events seen so far, logged or not.
    var total: Int { self.state.withLockedValue { $0.total } }

    /// Logs `message` at `level` (warning by default) unless the burst for this period is spent.
    func log(
        _ logger: Logger, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:],
        level: Logger.Level = .warning
    ) {
        let now = NIODeadline.now()
        let (shouldLog, suppressed) = self.state.withLockedValue { state -> (Bool, Int) in
            state.total += 1
            if now - state.windowStart >= self.period {
                let suppressed = state.suppressed
                state.windowStart = now
                state.loggedInWindow = 0
                state.suppressed = 0
                state.loggedInWindow += 1
                return (true, suppressed)
            }
            guard state.loggedInWindow < self.burst else {
                state.suppressed += 1
                return (false, 0)
            }
            state.loggedInWindow += 1
            return (true, 0)
        }
        guard shouldLog else { return }
        if suppressed > 0 { logger.warning("\(suppressed) similar messages suppressed") }
        logger.log(level: level, "\(message())", metadata: metadata)
    }
}
