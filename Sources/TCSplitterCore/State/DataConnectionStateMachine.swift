import NIOCore

/// The life of one data connection (fling or lasso), seen from one end.
///
/// A connection is short-lived: this end sends at most `budget` payloads on it. The end that
/// spends its budget (or goes idle) half-closes its output; the other end, seeing that, sends
/// nothing new and half-closes too; once both directions are shut the connection closes. Nothing
/// written before a half-close is lost, because each side keeps reading until the other's FIN.
///
/// A budget of 0 makes this end a receiver only (a lasso connection on the client, a fling
/// connection on the server in simplex mode): it never shuts its output on its own, only in answer
/// to the peer's FIN or when idle, so the peer can go on sending until its own budget is spent.
///
/// ```
///  handshaking ─hello─▶ active ──budget spent / idle / peer FIN──▶ draining ──both FIN──▶ closed
/// ```
public struct DataConnectionStateMachine: Sendable {
    /// What the handler must do after an event.
    public enum Action: Hashable, Sendable {
        /// Nothing.
        case none
        /// Flush what is written, then shut this side's output (TCP half-close).
        case shutdownOutput
        /// Close the connection.
        case close
    }

    /// Payloads this end may send on the connection (0: it only receives).
    public private(set) var budget: Int
    /// Payloads sent so far.
    public private(set) var sentPayloads = 0
    /// Whether the hello exchange completed.
    public private(set) var isReady = false
    /// Whether this end shut (or decided to shut) its output.
    public private(set) var outputShut = false
    /// Whether the peer shut its output.
    public private(set) var inputEnded = false
    /// Whether this end's output shutdown completed (everything written before it was flushed).
    private var outputShutdownDone = false
    /// When this end had sent half its budget.
    private var halfSpentAt: NIODeadline?
    /// How long this end took to spend its whole budget, estimated as twice the time the second
    /// half took (the first payloads may have been a trickle long before a transfer began); `nil`
    /// while it has not spent it (or when the connection retired for another reason). The
    /// budget scaler learns the path's speed from it.
    public private(set) var budgetSpentAfter: TimeAmount?

    /// What a sent payload asks of the handler.
    public struct PayloadSent: Hashable, Sendable {
        /// What to do with the connection.
        public var action: Action
        /// This end reached three quarters of its budget (the last payload for a budget of 1):
        /// time to dial the replacement, so it is ready when this one retires.
        public var askForReplacement: Bool
    }

    /// Payloads sent at which the end asks for this connection's replacement.
    public var replacementPoint: Int { max(1, self.budget - self.budget / 4) }

    /// A connection that may carry `budget` payloads from this end.
    public init(budget: Int) {
        self.budget = max(0, budget)
    }

    /// Whether a payload may be written now.
    public var canSend: Bool {
        self.isReady && !self.outputShut && !self.inputEnded && self.sentPayloads < self.budget
    }

    /// Whether the connection is done carrying new payloads (its pool should replace it): a
    /// direction was shut, or this end, a sender, spent its budget. A receiver-only connection
    /// (budget 0) is retired only when the peer or an idle timeout ends it.
    public var isRetired: Bool {
        self.outputShut || self.inputEnded || (self.budget > 0 && self.sentPayloads >= self.budget)
    }

    /// Sets this end's budget once the connection's kind is known (the server learns it from the
    /// client's hello). Only before any payload was sent: returns whether it was taken.
    @discardableResult
    public mutating func assignBudget(_ budget: Int) -> Bool {
        guard self.sentPayloads == 0 else { return false }
        self.budget = max(0, budget)
        return true
    }

    /// Raises this end's budget on a connection still sending (the path turned out long, and
    /// the connections opened before that was known would retire in slow start). Returns whether
    /// it was raised: never for a receiver (budget 0), a shut output, or a connection that
    /// already asked for its replacement (at `replacementPoint`).
    @discardableResult
    public mutating func raiseBudget(to budget: Int) -> Bool {
        guard self.budget > 0, budget > self.budget, self.sentPayloads < self.replacementPoint, !self.outputShut
        else {
            return false
        }
        self.budget = budget
        // The lifetime is timed from the new budget's half on.
        if self.sentPayloads < budget / 2 { self.halfSpentAt = nil }
        return true
    }

    /// The hello exchange completed.
    public mutating func handshakeCompleted() {
        self.isReady = true
    }

    /// A payload was written at `now`: times the budget's second half, asks for a replacement at
    /// three quarters, and shuts the output once the budget is spent.
    public mutating func payloadSent(now: NIODeadline) -> PayloadSent {
        self.sentPayloads += 1
        if self.sentPayloads == max(1, self.budget / 2) { self.halfSpentAt = now }
        if self.sentPayloads == self.budget, let half = self.halfSpentAt { self.budgetSpentAfter = (now - half) * 2 }
        let askForReplacement = self.sentPayloads == self.replacementPoint
        guard self.sentPayloads >= self.budget else {
            return PayloadSent(action: .none, askForReplacement: askForReplacement)
        }
        return PayloadSent(action: self.shutOutput(), askForReplacement: askForReplacement)
    }

    /// The peer shut its output. If this end's shutdown is still flushing, the close waits for
    /// `outputShutdownCompleted()`, so the payloads written before it are not dropped.
    public mutating func peerShutOutput() -> Action {
        self.inputEnded = true
        guard self.outputShut else { return self.shutOutput() }
        return self.outputShutdownDone ? .close : .none
    }

    /// Nothing was sent or received for the idle time: retire the connection (and close it if both
    /// sides already shut their output, even if this end's shutdown never completed).
    public mutating func idleTimeoutFired() -> Action {
        guard !self.outputShut else { return self.inputEnded ? .close : .none }
        return self.shutOutput()
    }

    /// This end's output shutdown completed.
    public mutating func outputShutdownCompleted() -> Action {
        self.outputShutdownDone = true
        return self.inputEnded ? .close : .none
    }

    private mutating func shutOutput() -> Action {
        self.outputShut = true
        return .shutdownOutput
    }
}
