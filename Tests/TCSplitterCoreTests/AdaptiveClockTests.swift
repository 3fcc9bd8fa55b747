import NIOCore
import TCSplitterCore
import Testing

/// Adaptive clocks (Nagle's rule): tick, tock and a prefill-less playout buffer wait only while
/// bytes are in flight; fixed clocks (`--mode stealth`) always wait.
@Suite struct AdaptiveClockTests {
    static func scheduler(adaptive: Bool) -> TickTockScheduler {
        TickTockScheduler(
            tickInterval: .milliseconds(50), tockInterval: .milliseconds(250), bulkBytes: 10000, adaptive: adaptive)
    }

    @Test("with nothing in flight a partial tail goes at once; behind bytes in flight it waits for the tock")
    func tailWaitsOnlyBehindFlight() {
        var scheduler = Self.scheduler(adaptive: true)
        #expect(scheduler.sendsWhole(inFlightBytes: 0))
        #expect(scheduler.packed(tailBytes: 100, inFlightBytes: 0, now: at(0)) == .flushNow)
        #expect(!scheduler.sendsWhole(inFlightBytes: 100))
        #expect(scheduler.packed(tailBytes: 100, inFlightBytes: 100, now: at(1)) == .flushAt(at(251)))
        // The acknowledgement that empties the flight: the session packs again, and the waiting
        // tail goes now; the armed tock no longer fires.
        #expect(scheduler.packed(tailBytes: 100, inFlightBytes: 0, now: at(2)) == .flushNow)
        #expect(scheduler.tockFired() == .none)
    }

    @Test("fixed clocks (stealth) wait for the tock whatever is in flight, and ignore acknowledgements")
    func fixedClocksAlwaysWait() {
        var scheduler = Self.scheduler(adaptive: false)
        #expect(!scheduler.sendsWhole(inFlightBytes: 0))
        #expect(scheduler.packed(tailBytes: 100, inFlightBytes: 0, now: at(0)) == .flushAt(at(250)))
        #expect(scheduler.flightEmptied(allowance: 1000) == .none)
        #expect(scheduler.packed(tailBytes: 100, inFlightBytes: 0, now: at(1)) == .none)  // still waits for its tock
        #expect(scheduler.tockFired() == .flushNow)
        _ = scheduler.start(allowance: 1000)
        #expect(
            scheduler.readCycleEnded(drained: true, bytesRead: 100, allowance: 1000, inFlightBytes: 0, now: at(300))
                == .readAt(at(350)))
    }

    @Test("the tick delays a drained small read only while bytes are in flight, and an emptied flight reads at once")
    func tickOnlyForTrickles() {
        var scheduler = Self.scheduler(adaptive: true)
        #expect(scheduler.start(allowance: 1000) == .readNow)
        // A request alone, acknowledged: read again at once.
        #expect(
            scheduler.readCycleEnded(drained: true, bytesRead: 100, allowance: 1000, inFlightBytes: 0, now: at(0))
                == .readNow)
        // A trickle behind unacknowledged bytes: wait for the tick...
        #expect(
            scheduler.readCycleEnded(drained: true, bytesRead: 100, allowance: 1000, inFlightBytes: 100, now: at(1))
                == .readAt(at(51)))
        // ...unless the acknowledgement comes first.
        #expect(scheduler.flightEmptied(allowance: 1000) == .readNow)
        #expect(scheduler.tickFired(allowance: 1000) == .none)  // a read is already outstanding
    }

    /// An application writing `writeBytes` every `writeEveryMs` for `durationMs`, acknowledged
    /// `roundTripMs` after each payload leaves: how many payloads the session sends.
    static func trickle(
        adaptive: Bool, writeBytes: Int, writeEveryMs: Int64, durationMs: Int64, roundTripMs: Int64
    )
        -> (writes: Int, payloads: Int)
    {
        var scheduler = TickTockScheduler(
            tickInterval: .milliseconds(50), tockInterval: .milliseconds(250), bulkBytes: 10000, adaptive: adaptive)
        var socket = 0  // bytes the application wrote that were not read yet
        var pending = 0  // read, not sent
        var inFlight: [(ackAt: Int64, bytes: Int)] = []
        var readArmedAt: Int64? = 0
        var tockAt: Int64? = nil
        var payloads = 0
        var writes = 0
        func send(_ now: Int64) {
            guard pending > 0 else { return }
            payloads += 1
            inFlight.append((now + roundTripMs, pending))
            pending = 0
        }
        for now in 0...(durationMs + 1000) {
            if now < durationMs && now % writeEveryMs == 0 {
                socket += writeBytes
                writes += 1
            }
            let acked = inFlight.filter { $0.ackAt <= now }
            if !acked.isEmpty {
                inFlight.removeAll { $0.ackAt <= now }
                if inFlight.isEmpty {
                    // As the session does: pack again (the waiting tail goes behind an empty
                    // flight), then the read the tick held.
                    if pending > 0, scheduler.packed(tailBytes: pending, inFlightBytes: 0, now: at(now)) == .flushNow {
                        tockAt = nil
                        send(now)
                    }
                    if scheduler.flightEmptied(allowance: 1 << 20) == .readNow { readArmedAt = now }
                }
            }
            if let due = tockAt, due <= now, scheduler.tockFired() == .flushNow {
                tockAt = nil
                send(now)
            }
            if let due = readArmedAt, due <= now, socket > 0 {
                readArmedAt = nil
                let bytes = socket
                socket = 0
                let flight = inFlight.reduce(0) { $0 + $1.bytes }
                pending += bytes
                switch scheduler.packed(tailBytes: pending, inFlightBytes: flight, now: at(now)) {
                case .flushNow: send(now)
                case .flushAt(let deadline): tockAt = Int64(deadline.uptimeNanoseconds / 1_000_000)
                case .none: break
                }
                let after = inFlight.reduce(0) { $0 + $1.bytes }
                switch scheduler.readCycleEnded(
                    drained: true, bytesRead: bytes, allowance: 1 << 20, inFlightBytes: after, now: at(now))
                {
                case .readNow: readArmedAt = now
                case .readAt(let deadline): readArmedAt = Int64(deadline.uptimeNanoseconds / 1_000_000)
                case .none: break
                }
            } else if readArmedAt == nil, scheduler.tickFired(allowance: 1 << 20) == .readNow {
                readArmedAt = now
            }
        }
        return (writes, payloads)
    }

    @Test(
        "a trickle of 100-byte writes every millisecond over a 50 ms round trip merges into a tenth as many payloads or fewer"
    )
    func trickleMerges() {
        let adaptive = Self.trickle(adaptive: true, writeBytes: 100, writeEveryMs: 1, durationMs: 4000, roundTripMs: 50)
        #expect(adaptive.writes == 4000)
        #expect(adaptive.payloads * 10 <= adaptive.writes)
        #expect(adaptive.payloads >= 40)  // about one per round trip: nothing waits longer than it must
    }

    @Test(
        "without a prefill, a push arrival and a full payload's worth are released at once; a trickle waits for the clock"
    )
    func bufferReleasesLoneBursts() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .milliseconds(250), prefillPayloads: 0, payloadBytes: 1000, highWaterBytes: 1 << 20,
            now: at(0))
        let pushed = buffer.enqueue([ByteBuffer(repeating: 1, count: 100)], push: true, now: at(1))
        #expect(pushed.buffers.map(\.readableBytes) == [100])
        let trickle = buffer.enqueue([ByteBuffer(repeating: 1, count: 100)], now: at(2))
        #expect(trickle.buffers.isEmpty)
        #expect(trickle.nextRelease == at(252))
        let bulk = buffer.enqueue([ByteBuffer(repeating: 1, count: 900)], now: at(3))
        #expect(bulk.buffers.reduce(0) { $0 + $1.readableBytes } == 1000)
    }

    @Test("with a prefill (--buffer ms:count) a push does not skip the jitter buffer")
    func prefillIgnoresPush() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .milliseconds(40), prefillPayloads: 4, payloadBytes: 1000, highWaterBytes: 1 << 20,
            now: at(0))
        let release = buffer.enqueue([ByteBuffer(repeating: 1, count: 1000)], push: true, now: at(1))
        #expect(release.buffers.isEmpty)
    }
}
