import NIOCore
import TCSplitterCore

/// What a running end offers the code that runs it as a service: a snapshot of its counters, a
/// graceful drain, and a stop. `TunnelClient` and `TunnelServer` conform; every call hops to the
/// end's event loop and may come from any thread.
public protocol TunnelEnd: AnyObject, Sendable {
    /// A snapshot of the end's counters and what is open and buffered now.
    func statistics() -> EventLoopFuture<EndStatistics>

    /// Stops taking new sessions (the client closes `--listen`; the server refuses `open`) and
    /// waits until the open sessions have ended, or `gracePeriod` has passed, whichever is first.
    /// The end keeps running (its connections carry the draining sessions); call `stop()` after.
    func drain(gracePeriod: TimeAmount) -> EventLoopFuture<DrainOutcome>

    /// Logs the state of every link and open session (SIGUSR1), to find where a session waits.
    func logState()

    /// Stops accepting, ends every session (aborting those still open) and closes every connection.
    func stop() -> EventLoopFuture<Void>
}

/// How a drain ended.
public enum DrainOutcome: Hashable, Sendable {
    /// Every session ended by itself; `sessions` were open when the drain began.
    case drained(sessions: Int)
    /// The grace period passed with `sessionsLeft` sessions still open.
    case gracePeriodOver(sessionsLeft: Int)
}
