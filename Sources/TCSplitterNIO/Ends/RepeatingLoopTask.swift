import NIOCore

/// Runs a body every `interval` on one event loop until cancelled (the ends' housekeeping).
/// NIO's own repeated task takes a `Sendable` body; this one runs loop-confined code.
final class RepeatingLoopTask {
    private let eventLoop: EventLoop
    private let interval: TimeAmount
    private let body: () -> Void
    private var scheduled: Scheduled<Void>?
    private var cancelled = false

    /// Starts running `body` every `interval`; call on `eventLoop`.
    init(eventLoop: EventLoop, interval: TimeAmount, body: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.interval = interval
        self.body = body
        self.scheduleNext()
    }

    /// Stops; the body does not run again.
    func cancel() {
        self.cancelled = true
        self.scheduled?.cancel()
    }

    private func scheduleNext() {
        guard !self.cancelled else { return }
        self.scheduled = self.eventLoop.assumeIsolated().scheduleTask(in: self.interval) {
            guard !self.cancelled else { return }
            self.body()
            self.scheduleNext()
        }
    }
}
