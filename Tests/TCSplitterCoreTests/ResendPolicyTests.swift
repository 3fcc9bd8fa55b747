import NIOCore
import TCSplitterCore
import Testing

@Suite struct ResendPolicyTests {
    let late = TimeAmount.milliseconds(100)
    let stuck = TimeAmount.seconds(2)

    func decide(_ carrier: ResendPolicy.Carrier?, gone: Bool = false, sentAgo: Int64) -> ResendPolicy.Decision {
        ResendPolicy.decide(
            carrierGone: gone, carrier: carrier, sentAgo: .milliseconds(sentAgo), lateAfter: self.late,
            stuckAfter: self.stuck)
    }

    static let moving = ResendPolicy.Carrier(
        recoveringByTimeout: false, unacknowledged: true, sinceLastAck: .milliseconds(4))
    static let timedOut = ResendPolicy.Carrier(
        recoveringByTimeout: true, unacknowledged: true, sinceLastAck: .milliseconds(300))

    @Test("a payload whose connection is gone is resent at once")
    func goneIsResent() {
        #expect(self.decide(nil, gone: true, sentAgo: 0) == .resend)
    }

    @Test("a payload on a moving connection waits for it, and is resent once older than stuckAfter")
    func movingWaits() {
        #expect(self.decide(Self.moving, sentAgo: 150) == .wait)
        #expect(self.decide(Self.moving, sentAgo: 1_999) == .wait)
        #expect(self.decide(Self.moving, sentAgo: 2_000) == .resend)
        // Off Linux nothing is known of the carrier: only age counts, and a black hole is the
        // case to fear.
        #expect(self.decide(nil, sentAgo: 1_999) == .wait)
        #expect(self.decide(nil, sentAgo: 2_000) == .closeCarrier(.overdue))
    }

    @Test(
        "a black hole (nothing outstanding in TCP, the payload never delivered) is closed once the payload is overdue")
    func blackHoleIsClosed() {
        let swallowing = ResendPolicy.Carrier(
            recoveringByTimeout: false, unacknowledged: false, sinceLastAck: .milliseconds(1))
        #expect(self.decide(swallowing, sentAgo: 1_000) == .wait)
        #expect(self.decide(swallowing, sentAgo: 2_000) == .closeCarrier(.overdue))
        // A gone carrier needs no close: its payload is resent at any age.
        #expect(self.decide(nil, gone: true, sentAgo: 5_000) == .resend)
    }

    @Test("a payload behind a retransmission timeout is resent once it is late, not before")
    func timeoutIsResent() {
        #expect(self.decide(Self.timedOut, sentAgo: 99) == .wait)
        #expect(self.decide(Self.timedOut, sentAgo: 100) == .resend)
        // Overdue behind a timeout: TCP still works on it, so the payload is resent, the carrier kept.
        #expect(self.decide(Self.timedOut, sentAgo: 2_500) == .resend)
    }

    @Test("a connection with bytes unacknowledged and no acknowledgement for stuckAfter is closed")
    func stuckIsClosed() {
        let silent = ResendPolicy.Carrier(recoveringByTimeout: false, unacknowledged: true, sinceLastAck: .seconds(2))
        #expect(self.decide(silent, sentAgo: 500) == .closeCarrier(.silent))
        #expect(self.decide(silent, sentAgo: 5_000) == .closeCarrier(.silent))
        let idle = ResendPolicy.Carrier(recoveringByTimeout: false, unacknowledged: false, sinceLastAck: .seconds(9))
        #expect(self.decide(idle, sentAgo: 500) == .wait)
        // A dead path backs off too: it is closed (resending all it carried), not drained payload by payload.
        let deadPath = ResendPolicy.Carrier(recoveringByTimeout: true, unacknowledged: true, sinceLastAck: .seconds(3))
        #expect(self.decide(deadPath, sentAgo: 500) == .closeCarrier(.silent))
    }
}
