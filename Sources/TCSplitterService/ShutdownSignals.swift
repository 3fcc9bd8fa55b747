import Logging
import ServiceLifecycle
import UnixSignals

/// SIGINT and SIGTERM for a service group: the first of either starts a graceful shutdown (the
/// tunnel drains for its grace period); a second SIGINT ends the wait by throwing
/// `ShutdownSignals.Interrupted`, so the caller cancels the group and exits at once. Further
/// SIGTERMs are logged and otherwise ignored (systemd escalates with SIGKILL on its own clock).
public enum ShutdownSignals {
    /// A second SIGINT arrived during a graceful shutdown.
    public struct Interrupted: Error, CustomStringConvertible {
        public var description: String { "interrupted twice" }
    }

    /// The signals to trap; trap them before the end announces itself ready, so an early signal
    /// cannot kill the process without a shutdown.
    public static func trap() async -> UnixSignalsSequence {
        await UnixSignalsSequence(trapping: .sigint, .sigterm)
    }

    /// Handles `signals` for `group` until the task is cancelled, or throws `Interrupted`.
    public static func watch(_ signals: UnixSignalsSequence, group: ServiceGroup, logger: Logger) async throws {
        var shuttingDown = false
        for await signal in signals {
            if !shuttingDown {
                shuttingDown = true
                logger.info(
                    "stopping on \("\(signal)".uppercased()): no new sessions, open ones drain (a second SIGINT stops at once)"
                )
                await group.triggerGracefulShutdown()
            } else if signal == .sigint {
                logger.notice("second SIGINT: stopping at once")
                throw Interrupted()
            } else {
                logger.info("already stopping; \("\(signal)".uppercased()) ignored")
            }
        }
    }
}
