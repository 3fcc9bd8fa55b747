import Foundation
import NIOCore
import TCSplitterCore
import Testing

/// `--conns auto`: the pool grows while goodput grows with it, stops at the knee, steps back
/// when a step hurt, shrinks when idle, and never grows faster than its step bound. A step is
/// judged on the mean of the two intervals after it.
@Suite struct PoolSizerTests {
    /// A sizer as the client makes one; the long path's floor is not held (`longPathHold` 0)
    /// unless a test asks for it.
    static func sizer(maximum: Int = 64, longPathHold: TimeAmount = .zero, now: NIODeadline = at(0)) -> PoolSizer {
        PoolSizer(
            initial: 4, maximum: maximum, maximumStep: 16, minimumGain: 0.1, reprobeAfter: .seconds(30),
            idleAfter: .seconds(10), longPathHold: longPathHold, settleSamples: 2, now: now)
    }

    @Test("rising goodput doubles the pool, each step judged on the two intervals after it; a plateau stops it")
    func growsToTheKnee() {
        var sizer = Self.sizer()
        // Each flow carries 6 units until the path's 120 are full (a per-flow cap).
        var sizes: [Int] = []
        var actions: [PoolSizer.Action] = []
        for second in 1...12 {
            let goodput = Double(min(120, 6 * sizer.size))
            let action = sizer.sample(goodputBytesPerSecond: goodput, busy: true, now: at(Int64(second) * 1000))
            if action != .none { actions.append(action) }
            sizes.append(sizer.size)
        }
        // 4 → 8 at once, then a step every two intervals: 16, 32 (120 of 120), 48 adds nothing.
        #expect(sizes == [8, 8, 16, 16, 32, 32, 48, 48, 48, 48, 48, 48])
        #expect(actions.last == .holds(size: 48, gain: 0))
    }

    @Test("a step is judged on its intervals' mean: one ramping interval neither stops nor reverses growth")
    func settlesBeforeJudging() {
        var sizer = Self.sizer()
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
        #expect(sizer.sample(goodputBytesPerSecond: 50, busy: true, now: at(2000)) == .none)  // ramping
        // The mean of 50 and 200 is 25% over 100: the quarter a doubling must add.
        #expect(sizer.sample(goodputBytesPerSecond: 200, busy: true, now: at(3000)) == .resize(size: 16, reason: .grew))
        // 8 was still rising: 16 is judged against its last reading, 200, not the mean of 125.
        #expect(sizer.sample(goodputBytesPerSecond: 205, busy: true, now: at(4000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 210, busy: true, now: at(5000))
                == .holds(size: 16, gain: 207.5 / 200 - 1))
    }

    @Test("a step grows on only if its new connections carry a quarter of an old one's share each")
    func diminishingReturnsStop() {
        // The per-flow-capped path: 16 carry 90-92; 32 read 100 and 116 (+19%, over 10% but
        // under the 25% a doubling must add): the pool holds at 32 instead of going on to 48.
        var sizer = Self.sizer()
        for (second, reading) in [12.0, 24, 24, 90, 92].enumerated() {
            _ = sizer.sample(goodputBytesPerSecond: reading, busy: true, now: at(Int64(second + 1) * 1000))
        }
        #expect(sizer.size == 32)
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(6000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 116, busy: true, now: at(7000))
                == .holds(size: 32, gain: 108 / 91.0 - 1))
        // A step of 16 onto 32 (half the pool) needs 12.5%: 14.6% grows on, 11.5% holds.
        for (reading, expected) in [
            (110.0, PoolSizer.Action.resize(size: 64, reason: .grew)), (107, .holds(size: 48, gain: 107 / 96.0 - 1)),
        ] {
            var capped = Self.sizer()
            for (second, earlier) in [12.0, 24, 24, 48, 48, 96, 96].enumerated() {
                _ = capped.sample(goodputBytesPerSecond: earlier, busy: true, now: at(Int64(second + 1) * 1000))
            }
            #expect(capped.size == 48)
            _ = capped.sample(goodputBytesPerSecond: reading, busy: true, now: at(8000))
            #expect(capped.sample(goodputBytesPerSecond: reading, busy: true, now: at(9000)) == expected)
        }
    }

    @Test("a size still ramping up is measured at its plateau: the next step is judged against that, not the ramp")
    func measuresThePlateau() {
        var sizer = Self.sizer()
        // The 50 ms / 0.5% loss path: 4 → 8 on the first reading; 8 reads 20, then 47.
        #expect(sizer.sample(goodputBytesPerSecond: 8, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
        #expect(sizer.sample(goodputBytesPerSecond: 20, busy: true, now: at(2000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 47, busy: true, now: at(3000)) == .resize(size: 16, reason: .grew))
        // 16 reads 47 and 51: 4% over 8's plateau of 47 (against its ramp's mean of 33.5, 46%).
        #expect(sizer.sample(goodputBytesPerSecond: 47, busy: true, now: at(4000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 51, busy: true, now: at(5000))
                == .holds(size: 16, gain: 49 / 47 - 1))
        #expect(sizer.size == 16)
    }

    @Test("a step that lowered goodput over three intervals is taken back, and the pool holds there")
    func stepsBack() {
        var sizer = Self.sizer()
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
        #expect(sizer.sample(goodputBytesPerSecond: 60, busy: true, now: at(2000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 70, busy: true, now: at(3000)) == .none)  // a third must confirm
        #expect(
            sizer.sample(goodputBytesPerSecond: 75, busy: true, now: at(4000)) == .resize(size: 4, reason: .steppedBack)
        )
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(5000)) == .none)
        #expect(sizer.size == 4)
    }

    @Test("two bad intervals after a step are not enough to take it back when the third recovers")
    func stepBackNeedsConfirmation() {
        var sizer = Self.sizer()
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
        #expect(sizer.sample(goodputBytesPerSecond: 60, busy: true, now: at(2000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 80, busy: true, now: at(3000)) == .none)
        // The new connections reached their share: the step paid after all (140 over the last two).
        #expect(
            sizer.sample(goodputBytesPerSecond: 200, busy: true, now: at(4000)) == .resize(size: 16, reason: .grew))
        // A step that is merely flat still holds after two intervals.
        #expect(sizer.sample(goodputBytesPerSecond: 150, busy: true, now: at(5000)) == .none)
        let flat = sizer.sample(goodputBytesPerSecond: 155, busy: true, now: at(6000))
        guard case .holds(16, _) = flat else {
            Issue.record("expected the pool to hold at 16, got \(flat)")
            return
        }
    }

    @Test("bursts of acknowledgements do not grow the pool: a step must raise the mean, not the best interval")
    func burstsAreNoGain() {
        var sizer = Self.sizer()
        // One-second readings of the 50 ms / 0.5% loss path at 8 connections: 35 to 48 of 50.
        #expect(sizer.sample(goodputBytesPerSecond: 40, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
        #expect(sizer.sample(goodputBytesPerSecond: 35, busy: true, now: at(2000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 48, busy: true, now: at(3000)) == .holds(size: 8, gain: 41.5 / 40 - 1))
        // The best of the two (48) would have been a 20% gain, and a step to 16.
        #expect(sizer.size == 8)
    }

    @Test("an interval is a second, or four round trips on a path longer than 250 ms")
    func intervalFollowsTheRoundTrip() {
        #expect(PoolSizer.interval(roundTrip: .zero) == .seconds(1))
        #expect(PoolSizer.interval(roundTrip: .milliseconds(200)) == .seconds(1))
        #expect(PoolSizer.interval(roundTrip: .milliseconds(250)) == .seconds(1))
        #expect(PoolSizer.interval(roundTrip: .milliseconds(600)) == .milliseconds(2400))
    }

    @Test("a long path raises the floor: the pool starts larger and shrinks back to it when idle")
    func longPathStartsLarger() {
        var sizer = Self.sizer()
        #expect(sizer.floor(roundTrip: .microseconds(100)) == 4)
        #expect(sizer.floor(roundTrip: .milliseconds(50)) == 4)  // few flows suit a shallow queue best
        #expect(sizer.floor(roundTrip: .milliseconds(60)) == 4)
        #expect(sizer.floor(roundTrip: .milliseconds(100)) == 8)
        #expect(sizer.floor(roundTrip: .milliseconds(130)) == 16)
        #expect(sizer.floor(roundTrip: .milliseconds(200)) == 16)  // at most 4 × --conns
        #expect(Self.sizer(maximum: 10).floor(roundTrip: .milliseconds(200)) == 10)
        #expect(sizer.roundTripMeasured(.microseconds(100)) == .none)
        #expect(sizer.roundTripMeasured(.milliseconds(200)) == .resize(size: 16, reason: .longPath))
        #expect(sizer.initial == 16 && sizer.base == 4)
        // Growth goes on from there once the floor is measured (two level readings).
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(1000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(2000)) == .resize(size: 32, reason: .grew))
        #expect(
            sizer.sample(goodputBytesPerSecond: 0, busy: false, now: at(13_000)) == .resize(size: 16, reason: .idle))
        // A shorter round trip lowers the floor for the next idle, not the pool now.
        #expect(sizer.roundTripMeasured(.milliseconds(1)) == .none)
        #expect(sizer.initial == 4 && sizer.size == 16)
    }

    @Test("a held pool re-probes after a while of busy traffic")
    func reprobes() {
        var sizer = Self.sizer()
        _ = sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(1000))
        _ = sizer.sample(goodputBytesPerSecond: 101, busy: true, now: at(2000))
        let plateau = sizer.sample(goodputBytesPerSecond: 101, busy: true, now: at(3000))
        #expect(sizer.size == 8)
        guard case .holds(8, let gain) = plateau else {
            Issue.record("expected the pool to hold at 8, got \(plateau)")
            return
        }
        #expect(abs(gain - 0.01) < 0.001)
        #expect(sizer.sample(goodputBytesPerSecond: 101, busy: true, now: at(20_000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 101, busy: true, now: at(34_000))
                == .resize(size: 16, reason: .reprobed))
    }

    @Test("a tunnel that is not busy never grows; idle traffic shrinks the pool back")
    func idleShrinks() {
        var sizer = Self.sizer()
        for second in 1...5 {
            #expect(sizer.sample(goodputBytesPerSecond: 50, busy: false, now: at(Int64(second) * 1000)) == .none)
        }
        #expect(sizer.size == 4)
        _ = sizer.sample(goodputBytesPerSecond: 100, busy: true, now: at(6000))
        _ = sizer.sample(goodputBytesPerSecond: 190, busy: true, now: at(7000))
        _ = sizer.sample(goodputBytesPerSecond: 200, busy: true, now: at(8000))
        #expect(sizer.size == 16)
        #expect(sizer.sample(goodputBytesPerSecond: 0, busy: false, now: at(13_000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 0, busy: false, now: at(18_000)) == .resize(size: 4, reason: .idle))
    }

    @Test("the pool never exceeds its maximum, and no step adds more than the step bound")
    func rateAndCapHold() {
        var sizer = Self.sizer(maximum: 40)
        var previous = sizer.size
        for second in 1...30 {
            var goodput = 1.0
            for _ in 0..<sizer.size { goodput *= 1.5 }  // always pays
            _ = sizer.sample(goodputBytesPerSecond: goodput, busy: true, now: at(Int64(second) * 1000))
            #expect(sizer.size <= 40)
            #expect(sizer.size - previous <= 16)
            previous = sizer.size
        }
        #expect(sizer.size == 40)
    }
}

extension PoolSizerTests {
    @Test(
        "on a long path a size is judged once its readings stop rising (at most six intervals), and a step that did not pay is taken back"
    )
    func longPathWaitsForStartup() {
        var sizer = Self.sizer()
        #expect(sizer.roundTripMeasured(.milliseconds(200)) == .resize(size: 16, reason: .longPath))
        // The 200 ms / 1% loss path: 16 connections read 1, 26, 77, 86, 88 Mbit/s.
        for (second, reading) in [1.0, 26, 77, 86].enumerated() {
            let action = sizer.sample(goodputBytesPerSecond: reading, busy: true, now: at(Int64(second + 1) * 1000))
            #expect(action == .none, "reading \(reading) is still startup")
        }
        // Level (within 10%): the floor measured at the mean of 86 and 88, then one step.
        #expect(sizer.sample(goodputBytesPerSecond: 88, busy: true, now: at(5000)) == .resize(size: 32, reason: .grew))
        // 32 ramps as well, then levels at the link's 90: under 10% over 87, so on a long path
        // the step is taken back, and the pool holds at 16.
        #expect(sizer.sample(goodputBytesPerSecond: 60, busy: true, now: at(6000)) == .none)
        #expect(sizer.sample(goodputBytesPerSecond: 85, busy: true, now: at(7000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 90, busy: true, now: at(8000))
                == .resize(size: 16, reason: .didNotPay))
        #expect(sizer.sample(goodputBytesPerSecond: 88, busy: true, now: at(9000)) == .none)

        // Readings that never level off are judged at the sixth interval.
        let actions = Self.longPathActions((1...6).map { 10 * pow(1.5, Double($0)) })
        #expect(actions.dropLast().allSatisfy { $0 == .none })
        #expect(actions.last == .resize(size: 32, reason: .grew))

        // A short path still steps at its first busy reading.
        var short = Self.sizer()
        #expect(short.sample(goodputBytesPerSecond: 1, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
    }
}

extension PoolSizerTests {
    @Test("on a long path a step grows on only if every settle reading shows the gain")
    func longPathGrowsOnEveryReading() {
        // A per-flow cap on a long path: each step doubles what every interval carries.
        let capped = Self.longPathActions([96, 96, 190, 192])
        #expect(capped[1] == .resize(size: 32, reason: .grew))
        #expect(capped[3] == .resize(size: 48, reason: .grew))

        // A lossy one: one interval stalled behind a timeout. The mean (110) would count as a
        // gain over 90; the stalled reading does not.
        let lossy = Self.longPathActions([90, 90, 150, 70])
        #expect(lossy[1] == .resize(size: 32, reason: .grew))
        #expect(lossy[3] == .resize(size: 16, reason: .didNotPay))
    }

    /// What a sizer on a 200 ms path (floor 16, not held) answers to busy `readings`, one a second.
    static func longPathActions(_ readings: [Double]) -> [PoolSizer.Action] {
        var sizer = Self.sizer()
        _ = sizer.roundTripMeasured(.milliseconds(200))
        return readings.enumerated().map { second, reading in
            sizer.sample(goodputBytesPerSecond: reading, busy: true, now: at(Int64(second + 1) * 1000))
        }
    }
}

extension PoolSizerTests {
    @Test("a long path's floor holds for ten seconds of busy traffic before the first step, and again after idle")
    func longPathFloorHolds() {
        var sizer = Self.sizer(longPathHold: .seconds(10))
        #expect(sizer.roundTripMeasured(.milliseconds(200)) == .resize(size: 16, reason: .longPath))
        // Quiet first: the hold counts busy traffic only.
        #expect(sizer.sample(goodputBytesPerSecond: 0, busy: false, now: at(1000)) == .none)
        // Busy from 2 s: nothing changes until 12 s, however the readings look.
        for second in 2...11 {
            let action = sizer.sample(goodputBytesPerSecond: 50, busy: true, now: at(Int64(second) * 1000))
            #expect(action == .none, "second \(second)")
        }
        // At 12 s the floor's readings start (50, then 51: level), and the step follows.
        #expect(sizer.sample(goodputBytesPerSecond: 50, busy: true, now: at(12_000)) == .none)
        #expect(
            sizer.sample(goodputBytesPerSecond: 51, busy: true, now: at(13_000)) == .resize(size: 32, reason: .grew))
        // Idle: back to the floor, held again.
        #expect(
            sizer.sample(goodputBytesPerSecond: 0, busy: false, now: at(24_000)) == .resize(size: 16, reason: .idle))
        for second in 25...34 {
            let action = sizer.sample(goodputBytesPerSecond: 200, busy: true, now: at(Int64(second) * 1000))
            #expect(action == .none, "second \(second)")
        }
        // A short path is not held: its first busy reading steps.
        var short = Self.sizer(longPathHold: .seconds(10))
        #expect(short.sample(goodputBytesPerSecond: 1, busy: true, now: at(1000)) == .resize(size: 8, reason: .grew))
    }
}
