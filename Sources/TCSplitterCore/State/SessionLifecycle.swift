/// The life of one session (one tunnelled connection) on one end, from the open to the end and
/// its reason: which half-close has happened, whether local writes are still draining, whether a
/// `reset` went to the peer. A value type that reads no clock and owns no socket:
/// `TunnelSession` feeds it events, with the stream facts it needs, and executes the actions it
/// returns, in order.
///
///                  opened
///     opening ──────────────▶ open ──┬── local EOF packed ──▶ finish sent ──────┐
///        │                           │                      (sending closed)    │
///        │                           └── peer's bytes all written ──▶ output    │
///        │                               shut (receiving closed)                ▼
///        │                                             both closed: draining until every
///        │                                             byte is acknowledged and written
///        │                                                           │
///        │   abort (reset sent) · reset by the peer · refused        ▼
///        └──────────────────────────────────────────────────▶ ended(reason)
///
/// An empty action list costs no allocation, so the frequent events (an acknowledgement, a
/// completed local write) that change nothing cost nothing.
public struct SessionLifecycle: Sendable {
    /// Where the session is; `stage` names the steps within `open`.
    public enum Phase: Hashable, Sendable {
        /// Waiting for the server's `opened` (client) or the forward connection (server): the local
        /// socket is not read yet.
        case opening
        /// Data flows.
        case open
        /// Done; the reason is `endReason`.
        case ended
    }

    /// The steps of a session's life, for logs and the status report.
    public enum Stage: String, Hashable, Sendable {
        case opening
        case open
        /// The local side's input ended and `finish` went to the peer; the peer's direction flows.
        case sendingClosed = "sending-closed"
        /// The peer's direction is complete and the local output is shut; this direction flows.
        case receivingClosed = "receiving-closed"
        /// Both directions closed; waiting for acknowledgements or local writes.
        case draining
        /// Ended after a `reset` went to the peer.
        case reset
        case ended
    }

    /// What the session must do, in the order returned.
    public enum Action: Hashable, Sendable {
        /// End the send stream's input (the local side shut its output).
        case endSendInput
        /// Pack what was read into payloads, with the partial tail when `includeTail`.
        case pack(includeTail: Bool)
        /// Close the open FEC group (the stream's end) and send its parity.
        case closeParityGroup
        /// Start reading the local socket under the read clock.
        case startReading
        /// Read the local socket now.
        case readLocal
        /// Send this direction's half-close (`finish`) to the peer.
        case sendFinish
        /// Shut the local socket's output: the peer's direction is complete.
        case shutLocalOutput
        /// Evaluate completion: call `progressed(_:)` with the streams' state now.
        case checkCompletion
        /// Send `reset` with this text to the peer.
        case sendReset(String)
        /// Client resync: send the open request again.
        case sendOpenRequest
        /// Server resync: send `opened` again.
        case sendOpened
        /// Resync: send the cumulative acknowledgement again.
        case sendProgress
        /// The session is over: close the local socket (reset it when the reason is abortive),
        /// stop its timers, and leave the link with `farewell(...)`'s messages.
        case end(SessionEndReason)
    }

    /// What completion depends on, from the streams and the local socket.
    public struct StreamState: Hashable, Sendable {
        /// Every byte sent was acknowledged and the end of the stream was packed.
        public var sendComplete: Bool
        /// Every byte of the peer's direction, to its final offset, was written to the local socket.
        public var receiveConsumed: Bool
        /// The session has a local stream socket whose output can be shut (not a UDP session's).
        public var hasLocalSocket: Bool

        public init(sendComplete: Bool, receiveConsumed: Bool, hasLocalSocket: Bool) {
            self.sendComplete = sendComplete
            self.receiveConsumed = receiveConsumed
            self.hasLocalSocket = hasLocalSocket
        }
    }

    /// Where the session is.
    public private(set) var phase = Phase.opening
    /// Why it ended, once it has.
    public private(set) var endReason: SessionEndReason?
    /// The local side shut its output: there is nothing more to read.
    public private(set) var localInputEnded = false
    /// The end of this direction was packed and `finish` sent.
    public private(set) var finishSent = false
    /// The peer's direction was written whole and the local output shut.
    public private(set) var localOutputShut = false
    /// Local writes started and not completed (a batch waiting for the event-loop pass counts).
    public private(set) var writesInFlight = 0
    /// The text of the `reset` sent to the peer, once one was.
    public private(set) var resetSent: String?
    /// A read was asked for before the local socket was active; it happens once it is.
    public private(set) var readWaitsForActive = false

    /// A session waiting to open.
    public init() {}

    /// Whether the session is over.
    public var isEnded: Bool { self.phase == .ended }

    /// The step of its life the session is at.
    public var stage: Stage {
        switch self.phase {
        case .opening: return .opening
        case .ended: return self.resetSent == nil ? .ended : .reset
        case .open:
            switch (self.finishSent, self.localOutputShut) {
            case (false, false): return .open
            case (true, false): return .sendingClosed
            case (false, true): return .receivingClosed
            case (true, true): return .draining
            }
        }
    }

    // MARK: Events

    /// The session may carry data (the server's `opened`, or the server's forward connection):
    /// send what was read while opening (`pendingBytes`), then read. Empty only when the
    /// session was not opening (a repeated `opened`, or one after the end).
    public mutating func opened(pendingBytes: Int) -> [Action] {
        guard self.phase == .opening else { return [] }
        self.phase = .open
        var actions: [Action] = []
        if pendingBytes > 0 || self.localInputEnded { actions.append(.pack(includeTail: self.localInputEnded)) }
        if self.localInputEnded {
            actions += [.closeParityGroup, .checkCompletion]
        } else {
            actions.append(.startReading)
        }
        return actions
    }

    /// The local side shut its output (EOF): this direction ends once what was read is packed.
    /// While opening, that waits for `opened`.
    public mutating func localInputClosed() -> [Action] {
        guard self.phase != .ended, !self.localInputEnded else { return [] }
        self.localInputEnded = true
        guard self.phase == .open else { return [.endSendInput] }
        return [.endSendInput, .pack(includeTail: true), .closeParityGroup, .checkCompletion]
    }

    /// The send stream packed its end: the peer is told the final offset, once.
    public mutating func endOfStreamPacked() -> [Action] {
        guard self.phase != .ended, !self.finishSent else { return [] }
        self.finishSent = true
        return [.sendFinish]
    }

    /// Something moved (an acknowledgement, a completed local write, the peer's `finish`): shut
    /// the local output once the peer's direction is written whole, and end the session once
    /// both directions are complete and nothing is in flight.
    public mutating func progressed(_ streams: StreamState) -> [Action] {
        guard self.phase != .ended else { return [] }
        var actions: [Action] = []
        if streams.receiveConsumed && !self.localOutputShut && self.writesInFlight == 0 && streams.hasLocalSocket {
            self.localOutputShut = true
            actions.append(.shutLocalOutput)
        }
        if self.finishSent && streams.sendComplete && self.localOutputShut && streams.receiveConsumed
            && self.writesInFlight == 0
        {
            actions += self.end(.closed)
        }
        return actions
    }

    /// A local write (or a batch of them) started.
    public mutating func localWriteStarted() {
        self.writesInFlight += 1
    }

    /// A local write started with `localWriteStarted()` completed (or was dropped).
    public mutating func localWriteFinished() {
        precondition(self.writesInFlight > 0, "a local write finished that had not started")
        self.writesInFlight -= 1
    }

    /// The local socket closed without an error. When its output was already shut, NIO folds the
    /// peer's FIN into the close (no separate end of input): every byte was read, so that is the
    /// end of input. A close before that, or with the peer's bytes still to write, cuts the
    /// session (`undeliveredBytes`: delivered in order and not yet written).
    public mutating func localSocketClosed(receiveConsumed: Bool, undeliveredBytes: UInt64) -> [Action] {
        guard self.phase != .ended else { return [] }
        var actions: [Action] = []
        if !self.localInputEnded {
            guard self.localOutputShut else {
                return self.abort(.localClosedEarly(undeliveredBytes: 0), notifyPeer: true)
            }
            actions += self.localInputClosed()
        }
        guard self.localOutputShut || receiveConsumed else {
            return actions + self.abort(.localClosedEarly(undeliveredBytes: undeliveredBytes), notifyPeer: true)
        }
        if actions.last != .checkCompletion { actions.append(.checkCompletion) }
        return actions
    }

    /// The session cannot go on: with `notifyPeer` the peer gets a `reset` naming `reason`.
    public mutating func abort(_ reason: SessionEndReason, notifyPeer: Bool) -> [Action] {
        guard self.phase != .ended else { return [] }
        var actions: [Action] = []
        if notifyPeer {
            self.resetSent = reason.description
            actions.append(.sendReset(reason.description))
        }
        return actions + self.end(reason)
    }

    /// The session ends for `reason` without this end sending a `reset` (the peer's `reset`, the
    /// server's refusal).
    public mutating func end(_ reason: SessionEndReason) -> [Action] {
        guard self.phase != .ended else { return [] }
        self.phase = .ended
        self.endReason = reason
        return [.end(reason)]
    }

    /// The session wants to read the local socket; `socketActive` is whether the socket is
    /// registered (NIO drops a read asked for before, so it waits for `socketBecameActive()`).
    public mutating func readWanted(socketActive: Bool) -> [Action] {
        guard self.phase != .ended else { return [] }
        guard socketActive else {
            self.readWaitsForActive = true
            return []
        }
        return [.readLocal]
    }

    /// The local socket became active: a read asked for before happens now.
    public mutating func socketBecameActive() -> [Action] {
        guard self.readWaitsForActive, self.phase != .ended else { return [] }
        self.readWaitsForActive = false
        return [.readLocal]
    }

    /// A (new) sync connection is up: what the peer may have missed on the old one, all of it
    /// idempotent (open and opened, finish at the same offset, cumulative progress).
    public func resync(isClient: Bool) -> [Action] {
        guard self.phase != .ended else { return [] }
        var actions: [Action] = []
        if isClient && self.phase == .opening { actions.append(.sendOpenRequest) }
        if !isClient && self.phase == .open { actions.append(.sendOpened) }
        if self.finishSent { actions.append(.sendFinish) }
        actions.append(.sendProgress)
        return actions
    }

    /// What the peer must get even if the sync connection dies with it, after the end: the
    /// `reset` sent; after a clean end the `finish` (if sent) and the final acknowledgement.
    public var farewell: Farewell {
        if let reason = self.resetSent { return .reset(reason) }
        guard let reason = self.endReason, !reason.isAbortive else { return .none }
        return .finalState(includesFinish: self.finishSent)
    }

    /// The messages `farewell` names.
    public enum Farewell: Hashable, Sendable {
        /// Nothing (an abortive end the peer caused or already knows).
        case none
        /// Repeat the `reset` with this text.
        case reset(String)
        /// Repeat `finish` (when `includesFinish`) and the final `progress`.
        case finalState(includesFinish: Bool)
    }
}
