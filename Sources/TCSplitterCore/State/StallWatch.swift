import NIOCore

/// Notices a session that has work outstanding and has stopped moving, so the end can log where
/// it waits (once per stall, not on every check).
///
/// The session passes a `mark`, a value that changes whenever anything moves (its offsets read,
/// sent, acknowledged, delivered, consumed), and whether work is outstanding (bytes unacknowledged or
/// unconsumed). An idle interactive session has none outstanding and is never reported.
///
/// ```
///  moving ──same mark, outstanding, for `threshold`──▶ reported ──mark changes──▶ moving
/// ```
public struct StallWatch<Mark: Equatable & Sendable>: Sendable {
    /// How long a session may wait without moving before it is reported.
    public let threshold: TimeAmount
    private var lastMark: Mark?
    private var since: NIODeadline
    private var reported = false
    private var wasOutstanding = false

    /// A watch that reports after `threshold` without movement; `now` starts the clock.
    public init(threshold: TimeAmount, now: NIODeadline) {
        self.threshold = threshold
        self.since = now
    }

    /// Records the session's `mark`; returns the time it has stood still when it should be
    /// reported now (the first check past `threshold` of one stall), else `nil`.
    public mutating func check(mark: Mark, outstanding: Bool, now: NIODeadline) -> TimeAmount? {
        defer { self.wasOutstanding = outstanding }
        guard outstanding, self.wasOutstanding, mark == self.lastMark else {
            self.lastMark = mark
            self.since = now
            self.reported = false
            return nil
        }
        let still = now - self.since
        guard !self.reported, still >= self.threshold else { return nil }
        self.reported = true
        return still
    }
}
