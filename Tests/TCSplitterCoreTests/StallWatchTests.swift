import NIOCore
import TCSplitterCore
import Testing

@Suite struct StallWatchTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("a session with work outstanding that stops moving is reported once, after the threshold")
    func reportsOncePerStall() {
        var watch = StallWatch<[UInt64]>(threshold: .seconds(10), now: self.start)
        #expect(watch.check(mark: [1, 2], outstanding: true, now: self.start) == nil)
        #expect(watch.check(mark: [1, 2], outstanding: true, now: self.start + .seconds(9)) == nil)
        #expect(watch.check(mark: [1, 2], outstanding: true, now: self.start + .seconds(10)) == .seconds(10))
        #expect(watch.check(mark: [1, 2], outstanding: true, now: self.start + .seconds(20)) == nil)
    }

    @Test("movement restarts the clock and re-arms the report")
    func movementRearms() {
        var watch = StallWatch<[UInt64]>(threshold: .seconds(10), now: self.start)
        _ = watch.check(mark: [1], outstanding: true, now: self.start)
        #expect(watch.check(mark: [1], outstanding: true, now: self.start + .seconds(10)) != nil)
        #expect(watch.check(mark: [2], outstanding: true, now: self.start + .seconds(11)) == nil)
        #expect(watch.check(mark: [2], outstanding: true, now: self.start + .seconds(20)) == nil)
        #expect(watch.check(mark: [2], outstanding: true, now: self.start + .seconds(21)) == .seconds(10))
    }

    @Test("an idle session with nothing outstanding is never reported")
    func idleIsNotAStall() {
        var watch = StallWatch<[UInt64]>(threshold: .seconds(10), now: self.start)
        for second in 0..<60 {
            #expect(watch.check(mark: [5, 5], outstanding: false, now: self.start + .seconds(Int64(second))) == nil)
        }
        // Work appears: the clock starts then, not at the session's start.
        #expect(watch.check(mark: [5, 5], outstanding: true, now: self.start + .seconds(60)) == nil)
        #expect(watch.check(mark: [5, 5], outstanding: true, now: self.start + .seconds(69)) == nil)
        #expect(watch.check(mark: [5, 5], outstanding: true, now: self.start + .seconds(70)) == .seconds(10))
    }
}
