import NIOCore

/// `--conns auto`: how many fling connections the client keeps, from what the pool delivers.
///
/// More parallel TCP flows help a path until they congest it themselves (Hacker, Athey and
/// Noble's knee): the sizer starts at `initial`, and while the tunnel is busy (payloads wait for a
/// connection, or a session's window is full) it doubles the pool as long as each step raised
/// the acknowledged goodput by at least `minimumGain`, and by enough that each new connection
/// carries a quarter of an old one's share (`wantedGain(from:)`: 25% for a doubling). A step is judged on the mean of the
/// `settleSamples` intervals after it (one interval on a lossy path is noisy), against the same
/// mean before it. A step that added
/// less stops the growth; one that lowered goodput by more than `minimumGain` is taken back. A
/// pool that held steady re-probes (one more step) after `reprobeAfter` of busy traffic, since a
/// path changes; when the traffic stops for `idleAfter` the pool shrinks back to `initial`. The
/// pool never exceeds `maximum`, and grows by at most `maximumStep` connections a step, so
/// connections are never opened faster than `maximumStep` per `interval`.
///
/// A long path starts larger (`roundTripMeasured`): once the round trip is known the pool's
/// floor (its size at start and after idle) is `base` times the round trip over
/// `floorRoundTrip`, rounded up to a power of two and at most `maximumFloorFactor` times
/// `base`. Every new connection spends its first round trips in slow start, and on a 200 ms
/// path each doubling of the pool costs two intervals of a second: starting at 4 there left a
/// ten-second transfer most of its time below the knee. Up to 60 ms the floor stays `base`: on
/// a 50 ms path with a shallow queue 16 flows starting together lost more to their own queue
/// than they gained (33 Mbit/s of 50, against 45 from 4).
///
/// A size whose readings still rose by more than `minimumGain` from its first settle interval
/// to its second is still starting up: when the pool grows from it, the next step is judged
/// against its last reading (its plateau), not the mean. On the 50 ms path a pool of 8 read 20
/// then 47 Mbit/s, and that ramp's mean made the next step (16, 47-52 Mbit/s, the link) look
/// like a gain worth another (32, 34 Mbit/s). Waiting a third interval instead cost the
/// per-flow-capped path (B) a second at 16 of the 32 flows it needs (80 Mbit/s against 92-96).
///
/// On a long path (a floor above `base`) the pool holds at its floor for `longPathHold` of busy
/// traffic before it probes beyond it: there every step cost a ten-second transfer about a tenth
/// of its goodput and, on the 200 ms / 1% loss path, never paid (16 → 32 and back within 3-5 s in
/// every run; 16 held moved 85-88 Mbit/s, the probing pool 69-87). A transfer that long is worth
/// the probe; a shorter one runs at the floor, which is what `--mode lossy` keeps. Beyond the
/// floor three rules are stricter. A size is judged only once
/// its readings stop rising, after at most `maximumSettleSamples` intervals, and the floor itself
/// is measured that way before the first step: there one interval spans only a few round trips,
/// and on the 200 ms / 1% loss path a pool of 16 read 1, then 26, then 77 Mbit/s one second
/// apart, against which the pool stepped to 32, 48 and 64 within four seconds. A step grows on
/// only if every settle reading (their least, not their mean) shows the gain: there a stream
/// waits behind a retransmission timeout or not by chance, and one-second readings at a steady
/// 32 connections went 66, 141, 2, 222 Mbit/s. And a step that did not pay is taken back
/// (`didNotPay`), where a short path holds at it: every connection more on a long lossy path is
/// one more for the stream to wait behind. A fixed pool of 16 moved 85-88 Mbit/s there, and
/// pools that had grown to 32-64 72-79 (interleaved runs).
///
/// A step that seems to have lowered goodput is taken back only when a third interval confirms
/// it (the mean of the last `settleSamples`): on a lossy path the connections a step adds ramp up for
/// a while, and one bad interval used to send a pool of 32 back to 16.
///
/// The mean, not the best: acknowledged goodput arrives in bursts when a lost segment's hole
/// fills, and on the 50 ms / 0.5% loss path one-second readings at a pool of 8 ranged from 35
/// to 48 Mbit/s of a 50 Mbit/s link (some past the link's rate), so the best of two intervals
/// after each step was a gain by chance: pools grew to 48 and 64, whose own queue cost them
/// (27-33 Mbit/s), or stepped back from a good size. A mean also charges a step with what its
/// new connections cost while they start.
///
/// ```
///            busy, gain ≥ min                 gain < min
///  initial ───────────────────▶ grow ×2 ─────────────────▶ hold ──reprobeAfter──▶ grow
///     ▲                           │  loss > min                │
///     │                           └──────▶ step back ──▶ hold  │
///     └──────────────────── idle for idleAfter ◀───────────────┘
/// ```
public struct PoolSizer: Sendable {
    /// Why the size changed, for the log and the status report.
    public enum Reason: String, Hashable, Sendable {
        /// The tunnel was busy and the last step raised goodput: one more step.
        case grew = "goodput grew with the pool"
        /// A held pool, still busy, tries one more step.
        case reprobed = "re-probing a busy pool"
        /// The last step lowered goodput: it is taken back.
        case steppedBack = "the last step lowered goodput"
        /// On a long path the last step added less than it had to (`wantedGain(from:)`): it is
        /// taken back.
        case didNotPay = "the last step added too little on a long path"
        /// The traffic stopped: back to the initial size.
        case idle = "traffic stopped"
        /// The path's round trip is long: the pool starts larger.
        case longPath = "the path's round trip is long"
    }

    /// What a sample tells the client to do.
    public enum Action: Hashable, Sendable {
        /// Keep the pool as it is.
        case none
        /// Keep `size` connections now, for `reason`.
        case resize(size: Int, reason: Reason)
        /// The pool stops growing at `size`: the last step raised goodput by `gain` only (a
        /// share; at the maximum, whatever it was). Nothing to change, worth a log line.
        case holds(size: Int, gain: Double)
    }

    private enum Phase: Hashable, Sendable {
        /// A long path's floor, held for `longPathHold` of busy traffic (counted from the first
        /// busy interval, `busySince`) before the first step beyond it.
        case floorHold(busySince: NIODeadline?)
        /// Growing while each step pays.
        case probing
        /// The knee was found (or the maximum reached): hold since `since`.
        case holding(since: NIODeadline)
    }

    /// The pool's size at start and after idle: `base`, or more on a long path.
    public private(set) var initial: Int
    /// The pool's size at start and after idle on a short path (`--conns`).
    public let base: Int
    /// The round trip up to which the floor is `base`; it doubles with each doubling beyond.
    public static let floorRoundTrip: TimeAmount = .milliseconds(60)
    /// The most a long path multiplies the floor by.
    public static let maximumFloorFactor = 4
    /// The most connections the pool may grow to.
    public let maximum: Int
    /// The most connections one step adds.
    public let maximumStep: Int
    /// The share goodput must rise by for a step to count (and fall by to be taken back).
    public let minimumGain: Double
    /// How long a held, busy pool waits before it probes again.
    public let reprobeAfter: TimeAmount
    /// How long without traffic before the pool shrinks back.
    public let idleAfter: TimeAmount
    /// How long a long path's floor holds, in busy traffic, before the pool probes beyond it.
    public let longPathHold: TimeAmount
    /// Intervals after a step whose mean goodput judges it.
    public let settleSamples: Int
    /// On a long path, the most intervals a size waits for its readings to stop rising.
    public let maximumSettleSamples: Int
    /// The connections to keep now.
    public private(set) var size: Int
    /// The size before the last step, and the goodput measured at it.
    private var previous: (size: Int, goodput: Double)?
    private var phase = Phase.probing
    private var lastTraffic: NIODeadline
    /// The goodput of the busy intervals since the last step.
    private var readingsSinceStep: [Double] = []

    /// A sizer starting at `initial` connections, at `now`.
    public init(
        initial: Int,
        maximum: Int,
        maximumStep: Int = 16,
        minimumGain: Double = 0.1,
        reprobeAfter: TimeAmount = .seconds(30),
        idleAfter: TimeAmount = .seconds(10),
        longPathHold: TimeAmount = .seconds(10),
        settleSamples: Int = 2,
        maximumSettleSamples: Int = 6,
        now: NIODeadline
    ) {
        self.initial = max(1, initial)
        self.base = self.initial
        self.maximum = max(self.initial, maximum)
        self.maximumStep = max(1, maximumStep)
        self.minimumGain = max(0, minimumGain)
        self.reprobeAfter = reprobeAfter
        self.idleAfter = idleAfter
        self.longPathHold = max(.zero, longPathHold)
        self.settleSamples = max(1, settleSamples)
        self.maximumSettleSamples = max(self.settleSamples, maximumSettleSamples)
        self.size = self.initial
        self.lastTraffic = now
    }

    /// One measurement interval ended: `goodputBytesPerSecond` is what the tunnel delivered and
    /// had acknowledged (both directions) during it, `busy` whether it wanted more (payloads
    /// waited for a connection or a session's window was full for much of it).
    public mutating func sample(goodputBytesPerSecond goodput: Double, busy: Bool, now: NIODeadline) -> Action {
        if goodput > 0 { self.lastTraffic = now }
        if now - self.lastTraffic >= self.idleAfter {
            self.startOver()
            return self.resize(to: self.initial, reason: .idle)
        }
        guard busy else { return .none }
        switch self.phase {
        case .floorHold(let busySince):
            let since = busySince ?? now
            guard now - since >= self.longPathHold else {
                self.phase = .floorHold(busySince: since)
                return .none
            }
            // The floor's readings from here judge the first step (below).
            self.phase = .probing
            self.previous = nil
            self.readingsSinceStep = [goodput]
            return .none
        case .holding(let since):
            guard now - since >= self.reprobeAfter else { return .none }
            self.phase = .probing
            return self.step(from: goodput, reason: .reprobed, now: now)
        case .probing:
            guard self.isLongPath || self.previous != nil else {
                return self.step(from: goodput, reason: .grew, now: now)
            }
            self.readingsSinceStep.append(goodput)
            let count = self.readingsSinceStep.count
            guard count >= self.settleSamples else { return .none }
            if self.isLongPath, count >= 2, count < self.maximumSettleSamples,
                goodput > self.readingsSinceStep[count - 2] * (1 + self.minimumGain)
            {
                return .none  // its connections are still starting up
            }
            // The mean of the last `settleSamples` intervals.
            let recent = self.readingsSinceStep.suffix(self.settleSamples)
            let measured = recent.reduce(0, +) / Double(recent.count)
            // The long path's floor, measured: the first step is judged against it.
            guard let previous = self.previous else { return self.step(from: measured, reason: .grew, now: now) }
            // Still rising over its settle intervals (its connections starting up): the
            // size's plateau is nearer its last reading than its mean.
            let last = recent.last ?? measured
            let rising = count == self.settleSamples && last > (recent.first ?? last) * (1 + self.minimumGain)
            if measured < previous.goodput * (1 - self.minimumGain) {
                // Worse: one more interval must confirm it before the step is taken back.
                guard count > self.settleSamples else { return .none }
                self.phase = .holding(since: now)
                self.previous = nil
                return self.resize(to: previous.size, reason: .steppedBack)
            }
            // On a long path every settle reading must show the gain: there one interval spans
            // a few round trips, and a stream stalls behind a timeout or not by chance.
            let judged = self.isLongPath ? (recent.min() ?? measured) : measured
            if judged < previous.goodput * (1 + self.wantedGain(from: previous.size)) {
                self.phase = .holding(since: now)
                self.previous = nil
                let gain = previous.goodput > 0 ? measured / previous.goodput - 1 : 0
                // On a long path a step that did not pay is taken back: each connection more
                // there is one more to stall the stream behind a retransmission timeout.
                guard self.isLongPath else { return .holds(size: self.size, gain: gain) }
                return self.resize(to: previous.size, reason: .didNotPay)
            }
            return self.step(from: rising ? max(measured, last) : measured, reason: .grew, now: now)
        }
    }

    /// The share a step from `size` to the current size must raise goodput by to grow on: at
    /// least `minimumGain`, and enough that each new connection carries `newConnectionShare` of
    /// what one of the old ones did (a doubling: a quarter more). Past the knee the new flows
    /// mostly take from the old: on the per-flow-capped path (B, 6 Mbit/s per flow, 120 Mbit/s)
    /// 16 → 32 connections raised goodput by 10-25%, and when that passed 10% the pool went on
    /// to 48, whose own queue cost 10-30% of a ten-second transfer before the step was taken
    /// back (71-91 Mbit/s, against 102-105 where the pool held at 32).
    private func wantedGain(from size: Int) -> Double {
        let added = Double(self.size - size) / Double(max(1, size))
        return max(self.minimumGain, added * Self.newConnectionShare)
    }

    /// What each connection a step adds must carry, as a share of one already there, for the
    /// pool to grow on.
    public static let newConnectionShare = 0.25

    /// Whether the path is long: the round trip raised the floor above `base`.
    private var isLongPath: Bool { self.initial > self.base }

    /// Round trips a measurement interval spans at least.
    public static let roundTripsPerInterval: Int64 = 4

    /// The measurement interval on a path whose round trip is `roundTrip`: at least a second,
    /// and `roundTripsPerInterval` round trips (a step is judged on the two intervals after it,
    /// `settleSamples`). Eight round trips (1.6-2 s on the 200 ms / 1% loss path) slowed the
    /// pool's growth there to 32 at 3 s and 48 at 7 s, against 1.5 s and 3.5 s, and cost that
    /// path 53-67 Mbit/s against 70-77 in interleaved runs.
    public static func interval(roundTrip: TimeAmount) -> TimeAmount {
        max(.seconds(1), roundTrip * Self.roundTripsPerInterval)
    }

    /// The floor for a path whose round trip is `roundTrip`: `base` up to `floorRoundTrip`, then
    /// `base` times the round trip over it, rounded up to a power of two, at most
    /// `maximumFloorFactor` times `base` and never past `maximum`.
    public func floor(roundTrip: TimeAmount) -> Int {
        var factor = 1
        while factor < Self.maximumFloorFactor,
            roundTrip.nanoseconds > Self.floorRoundTrip.nanoseconds * Int64(factor)
        {
            factor *= 2
        }
        return min(self.maximum, self.base * factor)
    }

    /// The path's round trip is now `roundTrip`: the floor follows it, and a pool below the new
    /// floor grows to it at once (a step from there is judged afresh).
    public mutating func roundTripMeasured(_ roundTrip: TimeAmount) -> Action {
        let floor = self.floor(roundTrip: roundTrip)
        guard floor != self.initial else { return .none }
        self.initial = floor
        guard self.size < floor else { return .none }
        self.startOver()
        return self.resize(to: floor, reason: .longPath)
    }

    /// Forgets the last step and its readings, as at start: a long path's floor is held again.
    private mutating func startOver() {
        self.previous = nil
        self.readingsSinceStep = []
        self.phase = self.isLongPath ? .floorHold(busySince: nil) : .probing
    }

    private mutating func step(from goodput: Double, reason: Reason, now: NIODeadline) -> Action {
        guard self.size < self.maximum else {
            self.phase = .holding(since: now)
            return .holds(size: self.size, gain: 0)
        }
        self.readingsSinceStep = []
        self.previous = (self.size, goodput)
        let next = min(self.maximum, self.size + min(self.size, self.maximumStep))
        return self.resize(to: next, reason: reason)
    }

    private mutating func resize(to size: Int, reason: Reason) -> Action {
        guard size != self.size else { return .none }
        self.size = size
        return .resize(size: size, reason: reason)
    }
}
