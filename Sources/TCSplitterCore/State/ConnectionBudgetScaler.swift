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
///   the second half and doubles it, so a trickle before a transfer does not count), multiplies
///   the factor of the connections opened after it by the power of two that would have made it
///   last that long (up to `maximumFactor`; at least doubling it), so one generation of
///   connections finds the factor rather than one per doubling: on a long path a new connection
///   needs tens of round trips to reach its share (slow start, bbr's startup), so one that lives
///   only a few of them spends its life ramping up, and each generation of a pool of 16 on a
///   200 ms path restarted that ramp;
/// - one that took more than `halvingLifetimes` times the minimum halves it (down to 1; past the
///   fast-path factor payloads are up to 6.5 times larger, so a budget lasts that much longer
///   without the link having slowed);
/// - anything between leaves it;
/// - a sending connection retired idle (the traffic stopped before its budget was spent) puts
///   the factor back to its floor, so the connections after a transfer are short again.
///
/// The floor is 1 until the path's round trip is known to be long (`roundTripMeasured`, at least
/// `longPathRoundTrip`); from then it is `longPathFactor`, the factor that the first generation of
/// connections would have taught the scaler anyway. A new connection spends 64 payloads of
/// 10,000 bytes within six round trips of slow start (ten segments, doubling), and so, on a
/// long path, long before it reaches its share: on the 200 ms / 1% loss path every connection
/// of the first generation retired within about two seconds, and its replacement started slow
/// start over. A fixed pool of 16 there moved 75-79 Mbit/s at the base budget and 86-90 with
/// 1,024 payloads from the start (interleaved runs).
///
/// A report about a connection opened with an older factor moves the factor relative to that
/// connection's, so the pool's connections, which retire together, step it once, not once each.
///
/// The scaler also tells whether the path is fast (`isFastPath`): from a connection that spent its
/// budget fast enough for factor `fastPathFactor` against `minimumLifetime` (the round trip aside:
/// a long path is not a fast one) until the factor is back at 1; clearing it at the first halving
/// would flip it on and off on paths near the threshold. Senders cut larger payloads on a fast
/// path, which makes budgets last longer, and on a long one (`takesLargePayloads`): on the
/// 200 ms / 1% loss path 64 KiB payloads moved 90.2 Mbit/s against 86.0 with 10,000 bytes (8
/// interleaved runs each), since a lost segment holds the in-order stream back for the same
/// round trips whatever the payload's size, and there are 6.5 times fewer payloads to acknowledge.
///
/// ```
///  factor 1 ──spent in min / k──▶ k (a power of two, ≥ 2) ── … ──▶ maximumFactor
///           ◀──spent in > 16 × min──
///  any ──a sender retired idle──▶ floor (1; longPathFactor once the round trip is long)
///  isFastPath: false ──factor reaches 4──▶ true ──factor back at its floor──▶ false
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
            if self.factor <= self.floorFactor { self.isFastPath = false }
        }
    }
    /// The least factor: 1, or `longPathFactor` on a long path.
    public private(set) var floorFactor = 1
    /// Whether the path counts as fast: since a connection spent its budget fast enough for
    /// `fastPathFactor` against `minimumLifetime` alone (a fast link, not merely a long one: the
    /// factor a long round trip asks for does not count; a long path is `isLongPath`), and until
    /// the factor is back at its floor. A path that is neither keeps payloads at `--frags`.
    public private(set) var isFastPath = false
    /// Whether the path's least round trip made it a long path (`roundTripMeasured`).
    public var isLongPath: Bool { self.floorFactor > 1 }
    /// Whether senders should cut payloads larger than `--frags` from full reads: on a fast path
    /// or a long one.
    public var takesLargePayloads: Bool { self.isFastPath || self.isLongPath }
    /// The factor from which the path counts as fast: connections spent 4 × the base budget
    /// within `minimumLifetime` (at 64 payloads of 10,000 bytes and 250 ms, over 5 MB/s each).
    public static let fastPathFactor = 4

    /// The minimum lifetime of `--budget auto`.
    public static let defaultMinimumLifetime: TimeAmount = .milliseconds(250)
    /// The largest factor of `--budget auto` (64 × 64 payloads).
    public static let defaultMaximumFactor = 64
    /// On a long path a connection should live at least this many round trips (12.8 s at 200 ms,
    /// 3.2 s at 50 ms; on loopback `minimumLifetime` rules).
    public static let roundTripsPerLifetime = 64
    /// Connections lasting more than this many minimum lifetimes halve the factor.
    public static let halvingLifetimes: Int64 = 16
    /// From this round trip on a path counts as long (as for `PoolSizer.floorRoundTrip`).
    public static let longPathRoundTrip: TimeAmount = .milliseconds(60)
    /// The floor on a long path: a connection spent in six round trips, against
    /// `roundTripsPerLifetime`, asks for 64 / 6, rounded up to a power of two.
    public static let longPathFactor = 16

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
        if lifetime < self.minimumLifetime,
            connectionFactor
                * Self.multiple(lifetime: lifetime, wanted: self.minimumLifetime, limit: self.maximumFactor)
                >= Self.fastPathFactor
        {
            self.isFastPath = true
        }
        if lifetime < minimumLifetime {
            let multiple = Self.multiple(lifetime: lifetime, wanted: minimumLifetime, limit: self.maximumFactor)
            self.factor = max(self.factor, min(self.maximumFactor, connectionFactor * multiple))
        } else if lifetime > minimumLifetime * Self.halvingLifetimes {
            self.factor = min(self.factor, max(self.floorFactor, connectionFactor / 2))
        }
        return self.factor != before
    }

    /// The path's least round trip is now `roundTrip`: from `longPathRoundTrip` on, the factor
    /// never goes below `longPathFactor`. Returns whether the factor changed.
    @discardableResult
    public mutating func roundTripMeasured(_ roundTrip: TimeAmount) -> Bool {
        guard self.minimumLifetime > .zero, roundTrip >= Self.longPathRoundTrip else { return false }
        let before = self.factor
        self.floorFactor = min(self.maximumFactor, Self.longPathFactor)
        self.factor = max(self.factor, self.floorFactor)
        return self.factor != before
    }

    /// The power of two (at least 2, at most `limit`) that would have made a connection spent in
    /// `lifetime` last `wanted`; 1 when it lasted that long.
    static func multiple(lifetime: TimeAmount, wanted: TimeAmount, limit: Int) -> Int {
        guard lifetime < wanted else { return 1 }
        var multiple = 2
        while multiple < limit, lifetime * Int64(multiple) < wanted { multiple *= 2 }
        return multiple
    }

    /// A connection this end sent on was retired for idleness before it spent its budget: back
    /// to the floor. Returns whether the factor changed.
    @discardableResult
    public mutating func connectionIdled() -> Bool {
        defer { self.factor = self.floorFactor }
        return self.factor != self.floorFactor
    }
}
