import NIOCore
import TCSplitterCore
import Testing

/// When the local socket is read (tick) and when a partial payload goes out (tock).
@Suite struct TickTockSchedulerTests {
    static func scheduler(tick: Int64 = 50, tock: Int64 = 250) -> TickTockScheduler {
        TickTockScheduler(tickInterval: .milliseconds(tick), tockInterval: .milliseconds(tock))
    }

    @Test("starting with room in the window reads at once, and only one read is outstanding")
    func start() {
        var scheduler = Self.scheduler()
        #expect(scheduler.start(allowance: 100) == .readNow)
        #expect(scheduler.start(allowance: 100) == .none)
        #expect(scheduler.windowOpened(allowance: 100) == .none)
    }

    @Test("negative intervals are taken as zero")
    func clamping() {
        let scheduler = TickTockScheduler(tickInterval: .milliseconds(-5), tockInterval: .nanoseconds(-1))
        #expect(scheduler.tickInterval == .zero)
        #expect(scheduler.tockInterval == .zero)
    }

    @Test("a read that filled its buffer is followed by another at once: the tick never bounds throughput")
    func fullReadReadsAgain() {
        var scheduler = Self.scheduler(tick: 1000)
        #expect(scheduler.start(allowance: 100) == .readNow)
        for step in 0..<100 {
            #expect(scheduler.readCycleEnded(drained: false, allowance: 100, now: at(Int64(step))) == .readNow)
        }
    }

    @Test("after a read that drained the socket, the next read waits one tick")
    func drainedWaitsForTick() {
        var scheduler = Self.scheduler(tick: 50)
        _ = scheduler.start(allowance: 100)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 100, now: at(1000)) == .readAt(at(1050)))
        // The armed tick is not re-armed or pre-empted by other events.
        #expect(scheduler.windowOpened(allowance: 100) == .none)
        #expect(scheduler.start(allowance: 100) == .none)
        #expect(scheduler.tickFired(allowance: 100) == .readNow)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 100, now: at(1060)) == .readAt(at(1110)))
    }

    @Test("a tick of zero reads again as soon as a read cycle ends")
    func zeroTick() {
        var scheduler = Self.scheduler(tick: 0)
        _ = scheduler.start(allowance: 1)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 1, now: at(0)) == .readNow)
        #expect(scheduler.readCycleEnded(drained: false, allowance: 1, now: at(0)) == .readNow)
    }

    @Test("with no allowance nothing is read until an acknowledgement opens the window")
    func backpressure() {
        var scheduler = Self.scheduler()
        #expect(scheduler.start(allowance: 0) == .none)
        #expect(scheduler.windowOpened(allowance: 0) == .none)
        #expect(scheduler.windowOpened(allowance: 10) == .readNow)
        #expect(scheduler.windowOpened(allowance: 10) == .none)
        #expect(scheduler.readCycleEnded(drained: false, allowance: 0, now: at(0)) == .none)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 0, now: at(0)) == .none)
        #expect(scheduler.windowOpened(allowance: 10) == .readNow)
    }

    @Test("a tick that fires into a closed window waits for the window")
    func tickIntoClosedWindow() {
        var scheduler = Self.scheduler()
        _ = scheduler.start(allowance: 10)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 10, now: at(0)) == .readAt(at(50)))
        #expect(scheduler.tickFired(allowance: 0) == .none)
        #expect(scheduler.windowOpened(allowance: 5) == .readNow)
    }

    @Test("a window that opens while a tick is armed leaves the read to the tick")
    func windowOpensDuringTick() {
        var scheduler = Self.scheduler()
        _ = scheduler.start(allowance: 10)
        #expect(scheduler.readCycleEnded(drained: false, allowance: 0, now: at(0)) == .none)
        // The window reopens, the read happens, drains, and a tick is armed.
        #expect(scheduler.windowOpened(allowance: 10) == .readNow)
        #expect(scheduler.readCycleEnded(drained: true, allowance: 10, now: at(5)) == .readAt(at(55)))
        #expect(scheduler.windowOpened(allowance: 10) == .none)
        #expect(scheduler.tickFired(allowance: 10) == .readNow)
    }

    @Test("no tail, no tock")
    func noTail() {
        var scheduler = Self.scheduler()
        #expect(scheduler.packed(tailBytes: 0, now: at(0)) == .none)
        #expect(scheduler.tockFired() == .none)
    }

    @Test("a tail waits at most one tock from when it first appeared, however often more bytes join it")
    func tockDeadline() {
        var scheduler = Self.scheduler(tock: 250)
        #expect(scheduler.packed(tailBytes: 5, now: at(100)) == .flushAt(at(350)))
        #expect(scheduler.packed(tailBytes: 8, now: at(200)) == .none)
        #expect(scheduler.packed(tailBytes: 9, now: at(300)) == .none)
        #expect(scheduler.tockFired() == .flushNow)
        #expect(scheduler.tockFired() == .none)
        // The next tail arms a fresh deadline.
        #expect(scheduler.packed(tailBytes: 1, now: at(400)) == .flushAt(at(650)))
    }

    @Test("a tail that was filled into whole payloads disarms the tock")
    func tailFilled() {
        var scheduler = Self.scheduler(tock: 250)
        #expect(scheduler.packed(tailBytes: 5, now: at(0)) == .flushAt(at(250)))
        #expect(scheduler.packed(tailBytes: 0, now: at(10)) == .none)
        #expect(scheduler.tockFired() == .none)
    }

    @Test("a tock of zero sends every tail at once")
    func zeroTock() {
        var scheduler = Self.scheduler(tock: 0)
        #expect(scheduler.packed(tailBytes: 1, now: at(0)) == .flushNow)
        #expect(scheduler.packed(tailBytes: 1, now: at(0)) == .flushNow)
        #expect(scheduler.tockFired() == .none)
    }

    @Test("a drained cycle that found a payload or more reads on at once; only a trickle waits for the tick")
    func bulkFlowIgnoresTick() {
        var scheduler = TickTockScheduler(
            tickInterval: .milliseconds(50),
            tockInterval: .milliseconds(250),
            bulkBytes: 1000
        )
        #expect(scheduler.start(allowance: 10_000) == .readNow)
        #expect(scheduler.readCycleEnded(drained: true, bytesRead: 1000, allowance: 10_000, now: at(0)) == .readNow)
        #expect(
            scheduler.readCycleEnded(drained: true, bytesRead: 999, allowance: 10_000, now: at(5)) == .readAt(at(55)))
    }
}
