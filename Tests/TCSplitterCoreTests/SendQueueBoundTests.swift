import NIOCore
import TCSplitterCore
import Testing

@Suite struct SendQueueBoundTests {
    /// Bytes a connection moving `megabitsPerSecond` is taken in `ms` milliseconds.
    func bytes(_ megabitsPerSecond: Double, ms: Int64) -> Int {
        Int(megabitsPerSecond * 1e6 / 8 * Double(ms) / 1000)
    }

    @Test("a fresh connection starts at the least bound: the first sample answers it and starts the clock")
    func startsAtTheMinimum() {
        var bound = SendQueueBound()
        #expect(bound.limitBytes == SendQueueBound.minimumBytes)
        #expect(bound.sample(takenBytes: 0, now: at(0)) == SendQueueBound.minimumBytes)
        #expect(bound.sample(takenBytes: 0, now: at(100)) == nil)
        #expect(bound.limitBytes == SendQueueBound.minimumBytes)
    }

    @Test("a fast connection's bound rises at once to its rate times the queue time, up to the most")
    func risesWithTheRate() {
        var bound = SendQueueBound()
        _ = bound.sample(takenBytes: 0, now: at(0))
        // 400 Mbit/s = 50 MB/s: 20 ms of it is 1 MB.
        #expect(bound.sample(takenBytes: self.bytes(400, ms: 100), now: at(100)) == 1_000_000)
        // 10 Gbit/s (loopback): capped.
        let taken = self.bytes(400, ms: 100) + self.bytes(10_000, ms: 100)
        #expect(bound.sample(takenBytes: taken, now: at(200)) == SendQueueBound.maximumBytes)
    }

    @Test("the taken bytes are read only when a sample is due, not on every housekeeping tick")
    func readsOnlyWhenDue() {
        var bound = SendQueueBound()
        var reads = 0
        func taken() -> Int {
            reads += 1
            return 0
        }
        for tick in stride(from: 0 as Int64, through: 200, by: 20) {
            _ = bound.sample(takenBytes: taken(), now: at(tick))
        }
        #expect(reads == 3)  // at 0 (the start), 100 and 200
    }

    @Test("samples closer than the interval are not taken")
    func waitsForTheInterval() {
        var bound = SendQueueBound()
        _ = bound.sample(takenBytes: 0, now: at(0))
        #expect(bound.sample(takenBytes: 50_000_000, now: at(99)) == nil)
        #expect(bound.limitBytes == SendQueueBound.minimumBytes)
        #expect(bound.sample(takenBytes: 50_000_000, now: at(100)) == SendQueueBound.maximumBytes)
    }

    @Test("a connection that slows down loses at most a quarter of its bound per sample, down to the least")
    func fallsSlowly() {
        var bound = SendQueueBound()
        _ = bound.sample(takenBytes: 0, now: at(0))
        var taken = self.bytes(400, ms: 100)
        #expect(bound.sample(takenBytes: taken, now: at(100)) == 1_000_000)
        // It stops: 750 kB, then 562.5 kB, ..., never below the least.
        #expect(bound.sample(takenBytes: taken, now: at(200)) == 750_000)
        #expect(bound.sample(takenBytes: taken, now: at(300)) == 562_500)
        var limits: [Int] = []
        for step in 4...20 {
            if let limit = bound.sample(takenBytes: taken, now: at(Int64(step) * 100)) { limits.append(limit) }
        }
        #expect(limits.last == SendQueueBound.minimumBytes)
        #expect(zip(limits, limits.dropFirst()).allSatisfy { $1 < $0 && $1 * 4 >= $0 * 3 })
        // 6 Mbit/s (one of 16 connections on a 100 Mbit/s lossy link): 15 kB, so the least.
        taken += self.bytes(6, ms: 100)
        #expect(bound.sample(takenBytes: taken, now: at(2_100)) == nil)
        #expect(bound.limitBytes == SendQueueBound.minimumBytes)
    }

    @Test("moves under an eighth are ignored")
    func ignoresSmallMoves() {
        var bound = SendQueueBound()
        _ = bound.sample(takenBytes: 0, now: at(0))
        #expect(bound.sample(takenBytes: 5_000_000, now: at(100)) == 1_000_000)
        // 1.1 MB wanted: a tenth more, kept at 1 MB; 1.2 MB wanted: taken.
        #expect(bound.sample(takenBytes: 10_500_000, now: at(200)) == nil)
        #expect(bound.sample(takenBytes: 16_500_000, now: at(300)) == 1_200_000)
    }
}
