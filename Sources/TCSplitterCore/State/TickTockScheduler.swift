import NIOCore

/// Decides when the local socket is read (tick) and when a partial payload is sent (tock).
///
/// - tick: after a read cycle that drained the socket having found less than a payload (a trickle,
///   such as keystrokes), the next read waits until `tickInterval` has passed, so small writes
///   merge into fuller payloads. A cycle that filled its buffer, or found a payload or more (a bulk
///   flow), is followed by another read at once, so the tick bounds read latency and never
///   throughput. A tick of zero reads as soon as the socket is readable.
/// - tock: complete payloads are sent as soon as they are cut; a partial tail waits at most
///   `tockInterval` for more bytes, then goes out. A tock of zero sends the tail at once.
/// - window: with no read allowance, reading stops until an acknowledgement opens the window.
///
/// Adaptive clocks (the default; `--clocks fixed` and `--mode stealth` turn them off) wait only
/// when waiting can merge bytes with others, as Nagle's algorithm does: while none of the
/// session's bytes are unacknowledged, a burst goes at once, tail included, and the next read is
/// asked for at once; while some are (a trickle behind bytes in flight), the tail waits at most a
/// tock and the next read at most a tick, and an acknowledgement that empties the flight ends both
/// waits (`flightEmptied`).
///
/// ```
///  flight empty ──burst──▶ send all now (push) ──▶ flight busy ──more bytes──▶ wait ≤ tick/tock
///       ▲                                                                        │
///       └─────────────────────── acknowledgement empties the flight ◀────────────┘
/// ```
public struct TickTockScheduler: Sendable {
    /// What to do about reading the local socket.
    public enum ReadAction: Hashable, Sendable {
        /// Ask the socket for more now.
        case readNow
        /// Ask again at this deadline (arm the tick timer).
        case readAt(NIODeadline)
        /// Do nothing: a read or a tick is already pending, or the window is closed.
        case none
    }

    /// What to do about the partial tail.
    public enum TailAction: Hashable, Sendable {
        /// Send the tail now.
        case flushNow
        /// Send it at this deadline (arm the tock timer).
        case flushAt(NIODeadline)
        /// Nothing to do.
        case none
    }

    /// The read clock; zero means event-driven.
    public let tickInterval: TimeAmount
    /// The tail clock; zero means event-driven.
    public let tockInterval: TimeAmount
    /// Whether the clocks wait only while bytes are in flight (Nagle), or always (the original's).
    public let adaptive: Bool

    private var readOutstanding = false
    private var tickArmedFor: NIODeadline? = nil
    private var tockArmedFor: NIODeadline? = nil
    private var waitingForWindow = false

    /// Bytes per read cycle from which the stream counts as a bulk flow (one payload).
    public let bulkBytes: Int

    /// A scheduler with the given clocks; `bulkBytes` is normally the payload size.
    /// `adaptive` makes the clocks wait only while bytes are in flight (see the type's notes).
    public init(tickInterval: TimeAmount, tockInterval: TimeAmount, bulkBytes: Int = .max, adaptive: Bool = false) {
        self.tickInterval = max(.zero, tickInterval)
        self.tockInterval = max(.zero, tockInterval)
        self.bulkBytes = max(1, bulkBytes)
        self.adaptive = adaptive
    }

    /// The session may start reading (it opened). `allowance` is the send window's read allowance.
    public mutating func start(allowance: Int) -> ReadAction {
        self.requestRead(allowance: allowance)
    }

    /// A read cycle ended. `drained` is whether the last read left the socket empty; `bytesRead`
    /// is what the cycle read (a cycle reading at least `bulkBytes` is a bulk flow: no tick wait);
    /// `inFlightBytes` is what the session has sent and not had acknowledged (adaptive clocks
    /// wait for a tick only while that is above zero).
    public mutating func readCycleEnded(
        drained: Bool,
        bytesRead: Int = 0,
        allowance: Int,
        inFlightBytes: Int = 1,
        now: NIODeadline
    ) -> ReadAction {
        self.readOutstanding = false
        guard allowance > 0 else {
            self.waitingForWindow = true
            return .none
        }
        let trickling = !self.adaptive || inFlightBytes > 0
        if drained && self.tickInterval > .zero && bytesRead < self.bulkBytes && trickling {
            return self.armTick(now + self.tickInterval)
        }
        return self.requestRead(allowance: allowance)
    }

    /// The tick timer fired.
    public mutating func tickFired(allowance: Int) -> ReadAction {
        self.tickArmedFor = nil
        return self.requestRead(allowance: allowance)
    }

    /// An acknowledgement opened the window.
    public mutating func windowOpened(allowance: Int) -> ReadAction {
        guard self.waitingForWindow else { return .none }
        return self.requestRead(allowance: allowance)
    }

    /// Whether a burst packed now goes out whole, tail included, with nothing to wait for:
    /// with adaptive clocks, when `inFlightBytes` (sent before this burst and not acknowledged)
    /// is zero. The session marks the burst's last payload `push`, so the peer's forwarder
    /// releases it at once too.
    public func sendsWhole(inFlightBytes: Int) -> Bool {
        self.adaptive && inFlightBytes == 0
    }

    /// Complete payloads were cut; `tailBytes` remain. Tells whether and when to send the tail.
    /// `inFlightBytes` is what was sent before this burst and is not acknowledged: with adaptive
    /// clocks a tail behind nothing in flight goes at once.
    public mutating func packed(tailBytes: Int, inFlightBytes: Int = 1, now: NIODeadline) -> TailAction {
        guard tailBytes > 0 else {
            self.tockArmedFor = nil
            return .none
        }
        guard self.tockInterval > .zero, !self.sendsWhole(inFlightBytes: inFlightBytes) else {
            self.tockArmedFor = nil
            return .flushNow
        }
        if self.tockArmedFor != nil { return .none }
        let deadline = now + self.tockInterval
        self.tockArmedFor = deadline
        return .flushAt(deadline)
    }

    /// The tock timer fired: send the tail.
    public mutating func tockFired() -> TailAction {
        guard self.tockArmedFor != nil else { return .none }
        self.tockArmedFor = nil
        return .flushNow
    }

    /// An acknowledgement left nothing in flight: with adaptive clocks, a read waiting for the
    /// tick is asked for now (nothing is left to merge with). A waiting tail needs no call of its
    /// own: the session packs again, and `packed` sends a tail behind an empty flight at once.
    public mutating func flightEmptied(allowance: Int) -> ReadAction {
        guard self.adaptive, self.tickArmedFor != nil else { return .none }
        self.tickArmedFor = nil
        return self.requestRead(allowance: allowance)
    }

    /// The scheduler's waits, for a diagnostic dump: `read` (a read is outstanding), `tick`
    /// (the tick timer is armed), `tock` (the tail waits), `window` (reading waits for an
    /// acknowledgement); `idle` when none.
    public var stateDescription: String {
        var parts: [String] = []
        if self.readOutstanding { parts.append("read") }
        if self.tickArmedFor != nil { parts.append("tick") }
        if self.tockArmedFor != nil { parts.append("tock") }
        if self.waitingForWindow { parts.append("window") }
        return parts.isEmpty ? "idle" : parts.joined(separator: "+")
    }

    private mutating func requestRead(allowance: Int) -> ReadAction {
        guard allowance > 0 else {
            self.waitingForWindow = true
            return .none
        }
        self.waitingForWindow = false
        guard !self.readOutstanding, self.tickArmedFor == nil else { return .none }
        self.readOutstanding = true
        return .readNow
    }

    private mutating func armTick(_ deadline: NIODeadline) -> ReadAction {
        guard self.tickArmedFor == nil else { return .none }
        self.tickArmedFor = deadline
        return .readAt(deadline)
    }
}
