/// The client end's count of one pool of pre-dialed data connections (fling or lasso): how many to
/// dial now so that `target` are ready or dialing, and how long to wait after failed dials.
///
/// Members are named by the connection's serial number. The pool never dials while a redial is
/// scheduled after a failure, so an unreachable server costs one dial per backoff step, not a
/// tight loop (the original's simplex pool redialed without pause).
///
/// ```
///  dialsToStart() ─▶ dialing ─dialSucceeded(serial)─▶ member ─memberGone(serial)─▶ (replaced)
///                        └─dialFailed()─▶ backoff ─redialDue()─▶ dialsToStart()
/// ```
public struct ConnectionPool: Sendable {
    /// Connections wanted, ready or dialing.
    public private(set) var target: Int
    /// Dials under way.
    public private(set) var dialing = 0
    /// Ready connections that still carry payloads for this pool.
    public private(set) var members: Set<UInt64> = []
    /// Dials failed in a row (reset by a success).
    public private(set) var consecutiveFailures = 0
    /// Whether a redial waits for its backoff.
    public private(set) var redialScheduled = false
    /// Connections dialed successfully so far.
    public private(set) var dialedTotal = 0

    /// A pool that keeps `target` connections.
    public init(target: Int) {
        self.target = max(0, target)
    }

    /// Changes the target (the ramp: one connection first, the rest after `--after`).
    public mutating func setTarget(_ target: Int) {
        self.target = max(0, target)
    }

    /// The number of dials to start now; they count as dialing until they succeed or fail.
    public mutating func dialsToStart() -> Int {
        guard !self.redialScheduled else { return 0 }
        let missing = max(0, self.target - self.dialing - self.members.count)
        self.dialing += missing
        return missing
    }

    /// A dial succeeded: the connection joins the pool.
    public mutating func dialSucceeded(serial: UInt64) {
        self.dialing = max(0, self.dialing - 1)
        self.consecutiveFailures = 0
        self.dialedTotal += 1
        self.members.insert(serial)
    }

    /// A dial failed. Returns the backoff in milliseconds before the next dial, if this failure
    /// schedules one (only one redial waits at a time).
    public mutating func dialFailed() -> Int64? {
        self.dialing = max(0, self.dialing - 1)
        self.consecutiveFailures += 1
        guard !self.redialScheduled else { return nil }
        self.redialScheduled = true
        return Self.backoffMilliseconds(afterFailures: self.consecutiveFailures)
    }

    /// The backoff ended: dials may start again.
    public mutating func redialDue() {
        self.redialScheduled = false
    }

    /// A member retired or closed. Returns whether it was a member (the pool then wants a new one).
    public mutating func memberGone(serial: UInt64) -> Bool {
        self.members.remove(serial) != nil
    }

    /// 100 ms, 200 ms, ... doubling up to 1 s.
    public static func backoffMilliseconds(afterFailures failures: Int) -> Int64 {
        Int64(min(1000, 50 << min(max(failures, 1), 5)))
    }
}
