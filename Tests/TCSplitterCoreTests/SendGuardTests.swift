import NIOCore
import TCSplitterCore
import Testing

/// The send guard: wire bytes within 1.3 × acknowledged (plus FEC overhead) over 5 s.
@Suite struct SendGuardTests {
    @Test(
        "resends are refused once wire bytes would pass 1.3 x the acknowledged bytes, and allowed again as the window moves"
    )
    func boundsAmplification() {
        var guardrail = SendGuard(ratio: 1.3, window: .seconds(5), allowanceBytes: 0)
        guardrail.record(wireTotal: 0, acknowledgedTotal: 0, now: at(0))
        let withinRatio = guardrail.allowsResend(bytes: 300, wireTotal: 1000, acknowledgedTotal: 1000)
        #expect(withinRatio)
        let pastRatio = guardrail.allowsResend(bytes: 301, wireTotal: 1000, acknowledgedTotal: 1000)
        #expect(!pastRatio)
        #expect(guardrail.refusedResends == 1)
        #expect(guardrail.ratio(wireTotal: 1000, acknowledgedTotal: 1000) == 1.0)
        // A burst of resends long ago no longer counts once the window has moved past it.
        for second in 1...7 {
            guardrail.record(
                wireTotal: 3000 + 100 * second, acknowledgedTotal: 1000 + 100 * second, now: at(Int64(second) * 1000))
        }
        #expect(guardrail.windowBytes(wireTotal: 3700, acknowledgedTotal: 1700) == (wire: 500, acknowledged: 500))
        let afterWindowMoved = guardrail.allowsResend(bytes: 150, wireTotal: 3700, acknowledgedTotal: 1700)
        #expect(afterWindowMoved)
    }

    @Test("a first window in flight does not hold resends back; resending it over and over still does")
    func inFlightIsNotAmplification() {
        var guardrail = SendGuard(ratio: 1.3, window: .seconds(5), allowanceBytes: 1000)
        guardrail.record(wireTotal: 0, acknowledgedTotal: 0, now: at(0))
        // 0.5 s in: an 8 MB window sent, 100 kB acknowledged, the rest on its way.
        let early = guardrail.allowsResend(
            bytes: 10_000, wireTotal: 8_000_000, acknowledgedTotal: 100_000, inFlightBytes: 7_900_000)
        #expect(early)
        // Counted without what is in flight, the same resend is refused (the old rule).
        let withoutInFlight = guardrail.allowsResend(bytes: 10_000, wireTotal: 8_000_000, acknowledgedTotal: 100_000)
        #expect(!withoutInFlight)
        // A peer that acknowledges nothing: its window once, then the allowance, per 5 s.
        guardrail.record(wireTotal: 8_000_000, acknowledgedTotal: 0, now: at(1000))
        let resentOnce = guardrail.allowsResend(
            bytes: 1000, wireTotal: 8_000_000, acknowledgedTotal: 0, inFlightBytes: 8_000_000)
        #expect(resentOnce)
        let resentAgain = guardrail.allowsResend(
            bytes: 1000, wireTotal: 8_001_000, acknowledgedTotal: 0, inFlightBytes: 8_000_000)
        #expect(!resentAgain)
    }

    @Test("FEC's configured parity is not counted against the ratio")
    func fecOverheadAllowed() {
        var guardrail = SendGuard(
            ratio: 1.3, fecDataShards: 10, fecParityShards: 3, window: .seconds(5), allowanceBytes: 0)
        guardrail.record(wireTotal: 0, acknowledgedTotal: 0, now: at(0))
        // Data and parity: 1300 on the wire for 1000 acknowledged; 1.3 x 1.3 x 1000 = 1690.
        let withinFECOverhead = guardrail.allowsResend(bytes: 390, wireTotal: 1300, acknowledgedTotal: 1000)
        #expect(withinFECOverhead)
        let pastFECOverhead = guardrail.allowsResend(bytes: 391, wireTotal: 1300, acknowledgedTotal: 1000)
        #expect(!pastFECOverhead)
    }
}
