import NIOCore

/// Whether a payload the receiver asks for again is resent now, from what is known of the
/// connection that carried it.
///
/// A payload on a live connection is usually slow, not lost: that connection's TCP delivers it
/// after its own loss recovery, and sending it twice spends the link on duplicates. Fast
/// retransmit takes about a round trip, so the receiver's request (sent once a gap is older than
/// `RoundTripEstimator.requestTimeout`) normally meets a payload that is about to arrive.
/// Resending everything requested from a connection in fast recovery was tried: on a bbr-loaded
/// lossy link every connection is in recovery most of the time, and 500–1,500 duplicate payloads
/// a run cost a fifth of the goodput. A retransmission timeout
/// is different: the kernel waits at least 200 ms, doubling each time, and a connection that
/// carries little (a small send queue, the end of a burst) has no later segments to trigger fast
/// retransmit. Behind it the whole stream waits, with every other connection idle once the window
/// fills (on the 50 ms, 0.5% loss link, gaps of 150–460 ms every second). So:
///
/// - the carrier is gone: resend (its close resent most of it already);
/// - the carrier has had bytes unacknowledged and no acknowledgement for `stuckAfter`: close it,
///   which resends all it carried;
/// - the payload is older than `stuckAfter`: resend it while the carrier's TCP still has bytes
///   unacknowledged or is recovering by timeout (a slow, lossy path: on the 200 ms / 1% loss
///   link closing such carriers too cost `--mode lossy` 85 against 91 Mbit/s); close the carrier
///   when its TCP has nothing outstanding, or nothing is known of it. Then the peer's TCP took the
///   payload and it never arrived: a middlebox that swallows bytes, or a proxy gone silent,
///   acknowledges everything, and such a black hole takes more than its share, since it is
///   always writable and the dispatcher serves the connection that takes bytes first, resends
///   included;
/// - the carrier's TCP is recovering by timeout (`TCP_CA_Loss`, or backing off) and the payload
///   is older than `lateAfter` (the request timeout): resend;
/// - otherwise wait for the carrier.
public enum ResendPolicy {
    /// What the kernel says of the carrier (`TCP_INFO`).
    public struct Carrier: Hashable, Sendable {
        /// Its TCP is in timeout recovery: `tcpi_ca_state == TCP_CA_Loss` or `tcpi_backoff > 0`.
        public var recoveringByTimeout: Bool
        /// Bytes its peer's TCP has not acknowledged.
        public var unacknowledged: Bool
        /// Since its last acknowledgement from the peer's TCP.
        public var sinceLastAck: TimeAmount

        /// A carrier's state.
        public init(recoveringByTimeout: Bool, unacknowledged: Bool, sinceLastAck: TimeAmount) {
            self.recoveringByTimeout = recoveringByTimeout
            self.unacknowledged = unacknowledged
            self.sinceLastAck = sinceLastAck
        }
    }

    /// What to do with one requested payload.
    public enum Decision: Hashable, Sendable {
        /// Resend it now.
        case resend
        /// Close its carrier: the close resends everything the carrier held.
        case closeCarrier(Fault)
        /// Leave it to its carrier.
        case wait
    }

    /// Why a carrier is closed.
    public enum Fault: Hashable, Sendable {
        /// Its peer's TCP acknowledged nothing for `stuckAfter` while bytes were in flight.
        case silent
        /// A payload it carried is still asked for after `stuckAfter`, though its TCP has nothing
        /// outstanding (or nothing is known of it).
        case overdue
    }

    /// The decision for a payload sent `sentAgo` on a carrier that is gone (`carrierGone`) or in
    /// state `carrier` (`nil`: not readable here, as off Linux). `lateAfter` is the age past
    /// which a payload behind a timeout is resent, `stuckAfter` the age past which its carrier is closed.
    public static func decide(
        carrierGone: Bool, carrier: Carrier?, sentAgo: TimeAmount, lateAfter: TimeAmount, stuckAfter: TimeAmount
    ) -> Decision {
        if carrierGone { return .resend }
        // A stuck carrier is usually backing off too: closing it resends all it carried and
        // frees the slot, where resending payload by payload would leave it open for minutes.
        if let state = carrier, state.unacknowledged && state.sinceLastAck >= stuckAfter {
            return .closeCarrier(.silent)
        }
        if sentAgo >= stuckAfter {
            // TCP still owes bytes on it: a slow, lossy path, where a close would resend all it
            // carried and restart a connection. Nothing owed: the peer's TCP took the payload,
            // and something swallowed it.
            if let state = carrier, state.unacknowledged || state.recoveringByTimeout { return .resend }
            return .closeCarrier(.overdue)
        }
        guard let state = carrier else { return .wait }
        if state.recoveringByTimeout && sentAgo >= lateAfter { return .resend }
        return .wait
    }
}
