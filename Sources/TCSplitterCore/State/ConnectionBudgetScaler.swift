import NIOCore

/// `--budget auto`: scales the payload budget of new data connections so that a fast link does
/// not spend connections faster than an end can afford to open them.
///
/// Every connection costs each end a handshake, a hello and a channel (about 0.3 ms of CPU each on
/// loopback); at 64 payloads of 10,000 bytes a link moving 500 MB/s would replace 800 a second.
/// Slow and lossy links are the reverse case: there short connections are what keeps one stuck
/// connection from holding the stream, and their budgets last long anyway. So the budget follows
/// how fast connections spend it:
///
/// - a connection that spent its budget within `minimumLifetime`, or within
///   `roundTripsPerLifetime` round trips of the path when that is longer (the handler measures
///   the second half and doubles it, so a trickle before a transfer does not count), doubles the
///   factor of the connections opened after it (up to `maximumFactor`): on a long path a new
///   connection needs several round trips to reach its share, so one that lives only a few of
///   them spends its life ramping up;
/// - one that took more than four times `minimumLifetime` halves it (down to 1);
/// - anything between leaves it;
/// - a sending connection retired idle (the traffic stopped before its budget was spent) puts
///   the factor back to 1, so the connections after a transfer are short again.
///
/// A report about a connection opened with an older factor moves the factor relative to that
/// connection's, so the pool's connections, which retire together, step it once, not once each.
///
/// The scaler also tells whether the path is fast (`isFastPath`): from factor `fastPathFactor`
/// until the factor is back at 1. Senders then cut larger payloads, which makes budgets last
/// longer; clearing it at the first halving would flip it on and off on paths near the threshold.
///
/// ```
///  factor 1 ──spent in < min──▶ 2 ──▶ 4 ── … ──▶ maximumFactor
///           ◀──spent in > 4 × min──
///  any ──a sender retired idle──▶ 1
///  isFastPath: false ──factor reaches 4──▶ true ──factor back at 1──▶ false
/// ```
public struct ConnectionBudgetScaler: Sendable {
    /// The budget at factor 1 (`--budget`'s base).
    public let baseBudget: Int
    /// Connections spending their budget faster than this make the next ones' larger.
    public let minimumLifetime: TimeAmount
    /// The largest factor.
    public let maximumFactor: Int
    /// The current factor: new connections get `baseBudget × factor` payloads.
    public private(set) var factor = 1 {
        didSet {
            if self.factor >= Self.fastPathFactor { self.isFastPath = true }
            if self.factor <= 1 { self.isFastPath = false }
        }
    }
    /// Whether the path counts as fast: since the factor reached `fastPathFactor`, and until it
    /// is back at 1.
    public private(set) var isFastPath = false
    /// The factor from which the path counts as fast: connections spent 4 × the base budget
    /// within `minimumLifetime` (at 64 payloads of 10,000 bytes and 250 ms, over 5 MB/s each).
    public static let fastPathFactor = 4

    /// The minimum lifetime of `--budget auto`.
    public static let defaultMinimumLifetime: TimeAmount = .milliseconds(250)
    /// The largest factor of `--budget auto` (64 × 64 payloads).
    public static let defaultMaximumFactor = 64
    /// On a long path a connection should live at least this many round trips.
    public static let roundTripsPerLifetime = 16

    /// A scaler at factor 1; a `minimumLifetime` of zero never scales.
    public init(
        baseBudget: Int,
        minimumLifetime: TimeAmount = Self.defaultMinimumLifetime,
        maximumFactor: Int = Self.defaultMaximumFactor
    ) {
        self.baseBudget = max(0, baseBudget)
        self.minimumLifetime = max(.zero, minimumLifetime)
        self.maximumFactor = max(1, maximumFactor)
    }

    /// The budget of a new connection, before jitter.
    public var budget: Int { self.baseBudget * self.factor }

    /// A connection opened at `factor` spent its whole budget in `lifetime`, on a path whose
    /// round trip is `roundTrip` (zero when not known yet). Returns whether the factor changed.
    @discardableResult
    public mutating func budgetSpent(
        factor connectionFactor: Int, lifetime: TimeAmount, roundTrip: TimeAmount = .zero
    )
        -> Bool
    {
        guard self.minimumLifetime > .zero else { return false }
        let before = self.factor
        let connectionFactor = min(max(1, connectionFactor), self.maximumFactor)
        let minimumLifetime = max(self.minimumLifetime, roundTrip * Int64(Self.roundTripsPerLifetime))
        if lifetime < minimumLifetime {
            self.factor = max(self.factor, min(self.maximumFactor, connectionFactor * 2))
        } else if lifetime > minimumLifetime * 4 {
            self.factor = min(self.factor, max(1, connectionFactor / 2))
        }
        return self.factor != before
    }

    /// A connection this end sent on was retired for idleness before it spent its budget.
    /// Returns whether the factor changed.
    @discardableResult
    public mutating func connectionIdled() -> Bool {
        defer { self.factor = 1 }
        return self.factor != 1
    }
}
