import NIOCore
import TCSplitterCore
import Testing

/// The forwarder's playout buffer: prefill, pacing, catching up, high water, quiet and end release.
@Suite struct SteadyRateBufferTests {
    /// Runs a buffer the way a forwarder would: one timer, armed when a release asks for it.
    struct Driver {
        var buffer: SteadyRateBuffer
        /// The armed release timer, if any.
        var timer: NIODeadline?
        /// Every non-empty release: when, how many bytes, and whether the timer caused it.
        var releases: [(at: NIODeadline, bytes: Int, byTimer: Bool)] = []
        /// Every timer firing, including those that released nothing.
        var timerReleases: [(at: NIODeadline, bytes: Int)] = []
        /// Bytes enqueued and released so far.
        var enqueuedBytes = 0
        var releasedBytes = 0
        /// Whether released bytes arrived in order (each buffer continues the stream).
        var inOrder = true
        /// The largest number of bytes held at once.
        var peakHeld = 0
        private var nextStreamOffset = 0

        init(interval: Int64, prefill: Int, payloadBytes: Int = 1000, highWater: Int = 1 << 30) {
            self.buffer = SteadyRateBuffer(
                releaseInterval: .milliseconds(interval),
                prefillPayloads: prefill,
                payloadBytes: payloadBytes,
                highWaterBytes: highWater,
                now: at(0)
            )
        }

        /// Fires every timer due by `now`, then hands `count` new stream bytes to the buffer.
        mutating func enqueue(_ count: Int, now: NIODeadline, parts: Int = 1) {
            self.advance(to: now)
            var buffers: [ByteBuffer] = []
            for index in 0..<parts {
                let size = count / parts + (index < count % parts ? 1 : 0)
                buffers.append(.stream(offset: self.enqueuedBytes, count: size))
                self.enqueuedBytes += size
            }
            let release = self.buffer.enqueue(buffers, now: now)
            self.peakHeld = max(
                self.peakHeld, self.buffer.queuedBytes + release.buffers.reduce(0) { $0 + $1.readableBytes })
            self.record(release.buffers, at: now, byTimer: false)
            if let next = release.nextRelease { self.timer = next }
        }

        /// Fires every timer due by `now`.
        mutating func advance(to now: NIODeadline) {
            while let due = self.timer, due <= now {
                let release = self.buffer.releaseDue(now: due)
                self.timer = release.nextRelease
                let bytes = self.record(release.buffers, at: due, byTimer: true)
                self.timerReleases.append((due, bytes))
            }
        }

        /// The stream's end: everything held goes out.
        mutating func endInput(now: NIODeadline) {
            self.advance(to: now)
            let release = self.buffer.endInput()
            self.record(release.buffers, at: now, byTimer: false)
            if let next = release.nextRelease { self.timer = next }
        }

        @discardableResult
        private mutating func record(_ buffers: [ByteBuffer], at now: NIODeadline, byTimer: Bool) -> Int {
            var total = 0
            for buffer in buffers {
                if buffer != .stream(offset: self.nextStreamOffset, count: buffer.readableBytes) {
                    self.inOrder = false
                }
                self.nextStreamOffset += buffer.readableBytes
                total += buffer.readableBytes
            }
            self.releasedBytes += total
            if total > 0 { self.releases.append((now, total, byTimer)) }
            return total
        }
    }

    @Test("an interval of zero releases every byte as it arrives, with no timer")
    func zeroInterval() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .zero, prefillPayloads: 10, payloadBytes: 1000, highWaterBytes: 1 << 20, now: at(0))
        let release = buffer.enqueue([.stream(offset: 0, count: 10), .stream(offset: 10, count: 5)], now: at(0))
        #expect(joined(release.buffers) == ByteBuffer.stream(offset: 0, count: 15).bytes)
        #expect(release.nextRelease == nil)
        #expect(buffer.isEmpty)
    }

    @Test("empty buffers are not held and arm no timer")
    func emptyBuffers() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .milliseconds(100), prefillPayloads: 0, payloadBytes: 1000, highWaterBytes: 1 << 20,
            now: at(0))
        let release = buffer.enqueue([ByteBuffer(), ByteBuffer()], now: at(0))
        #expect(release.buffers.isEmpty)
        #expect(release.nextRelease == nil)
        #expect(buffer.isEmpty)
    }

    @Test("the first enqueue arms one timer one interval ahead; later ones do not re-arm it")
    func timerArming() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .milliseconds(100), prefillPayloads: 5, payloadBytes: 1000, highWaterBytes: 1 << 20,
            now: at(0))
        #expect(buffer.enqueue([.stream(offset: 0, count: 10)], now: at(7)).nextRelease == at(107))
        #expect(buffer.enqueue([.stream(offset: 10, count: 10)], now: at(20)).nextRelease == nil)
        #expect(buffer.releaseDue(now: at(107)).nextRelease == at(207))
    }

    @Test("nothing is released until `count` payloads have arrived")
    func prefill() {
        var driver = Driver(interval: 100, prefill: 3)
        driver.enqueue(1000, now: at(0))
        driver.enqueue(1000, now: at(60))
        driver.advance(to: at(150))
        #expect(driver.releasedBytes == 0)
        #expect(driver.timerReleases.count == 1)
        driver.enqueue(999, now: at(190))
        driver.advance(to: at(250))
        #expect(driver.releasedBytes == 0)
        driver.enqueue(1, now: at(260))  // the third payload's worth is complete
        driver.advance(to: at(300))
        #expect(driver.releasedBytes > 0)
        #expect(driver.inOrder)
    }

    @Test("after the prefill, each release follows the arrival rate and the jitter buffer stays held")
    func pacedRelease() {
        // 10 payloads of 1000 bytes every 100 ms; the jitter buffer is 30 payloads.
        var driver = Driver(interval: 100, prefill: 30)
        for step in 0..<200 {  // 2 seconds, one payload every 10 ms
            driver.enqueue(1000, now: at(Int64(step) * 10))
        }
        driver.advance(to: at(1995))
        // Nothing left before the 30th payload arrived (at 290 ms).
        #expect(driver.releases.first.map { $0.at >= at(290) } == true)
        #expect(driver.releases.allSatisfy { $0.byTimer })
        // From then on every release is one interval's worth.
        let steady = driver.timerReleases.filter { $0.at >= at(400) }
        #expect(steady.count >= 15)
        for release in steady {
            #expect((9000...11000).contains(release.bytes), "released \(release.bytes) at \(release.at)")
        }
        // The jitter buffer (less one interval released at the boundary) is still held.
        #expect(driver.buffer.queuedBytes >= 19_000)
        #expect(driver.inOrder)
    }

    @Test("a late interval is covered from the jitter buffer: output does not stop")
    func lateIntervalCovered() {
        var driver = Driver(interval: 100, prefill: 30)
        for step in 0..<200 where !(120..<130).contains(step) {  // nothing arrives from 1200 to 1300 ms
            driver.enqueue(1000, now: at(Int64(step) * 10))
        }
        driver.advance(to: at(1995))
        let afterPrefill = driver.timerReleases.filter { $0.at >= at(400) }
        #expect(afterPrefill.count >= 15)
        #expect(afterPrefill.allSatisfy { $0.bytes > 0 }, "a release came out empty while bytes were held")
        #expect(driver.inOrder)
    }

    @Test("a burst above the jitter target is released at the next tick: it catches up when behind")
    func catchesUp() {
        // 10 payloads of 1000 bytes every 100 ms with a 30-payload jitter buffer, as in pacedRelease.
        var driver = Driver(interval: 100, prefill: 30)
        for step in 0..<50 {
            driver.enqueue(1000, now: at(Int64(step) * 10))
        }
        driver.advance(to: at(499))
        let heldBefore = driver.buffer.queuedBytes
        #expect(heldBefore == 30_000)
        driver.enqueue(40_000, now: at(499), parts: 40)  // 40 payloads at once
        driver.advance(to: at(500))
        let burst = driver.timerReleases.last
        #expect(burst?.at == at(500))
        // Everything above the 30-payload target went out at once, far more than one interval's worth.
        #expect(burst?.bytes == heldBefore + 40_000 - 30_000)
        #expect(driver.buffer.queuedBytes == 30_000)
        #expect(driver.inOrder)
    }

    @Test("held bytes reaching high water beyond the target release the excess at once, without the clock")
    func highWater() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .seconds(1), prefillPayloads: 2, payloadBytes: 1000, highWaterBytes: 10_000, now: at(0))
        var released: [ByteBuffer] = []
        for index in 0..<5 {
            released += buffer.enqueue([.stream(offset: index * 2000, count: 2000)], now: at(0)).buffers
        }
        #expect(released.isEmpty)
        #expect(buffer.queuedBytes == 10_000)
        released += buffer.enqueue([.stream(offset: 10_000, count: 1999)], now: at(1)).buffers
        #expect(released.isEmpty)
        released += buffer.enqueue([.stream(offset: 11_999, count: 1)], now: at(2)).buffers
        #expect(joined(released) == ByteBuffer.stream(offset: 0, count: 10_000).bytes)
        #expect(buffer.queuedBytes == 2000)
    }

    @Test("with no jitter target, high water releases everything held")
    func highWaterNoTarget() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .seconds(1), prefillPayloads: 0, payloadBytes: 10_000, highWaterBytes: 4000, now: at(0))
        #expect(buffer.enqueue([.stream(offset: 0, count: 3999)], now: at(0)).buffers.isEmpty)
        let release = buffer.enqueue([.stream(offset: 3999, count: 1)], now: at(0))
        #expect(joined(release.buffers) == ByteBuffer.stream(offset: 0, count: 4000).bytes)
        #expect(buffer.isEmpty)
    }

    @Test("a target above high water still holds no more than twice the high water")
    func highWaterCapsLargeTarget() {
        var buffer = SteadyRateBuffer(
            releaseInterval: .seconds(1), prefillPayloads: 15, payloadBytes: 1000, highWaterBytes: 10_000, now: at(0))
        #expect(buffer.enqueue([.stream(offset: 0, count: 19_999)], now: at(0)).buffers.isEmpty)
        let release = buffer.enqueue([.stream(offset: 19_999, count: 1)], now: at(0))
        #expect(joined(release.buffers) == ByteBuffer.stream(offset: 0, count: 5000).bytes)
        #expect(buffer.queuedBytes == 15_000)
    }

    @Test("after two quiet intervals everything held is released, even before the prefill completes")
    func quietReleasesAll() {
        var driver = Driver(interval: 100, prefill: 50)
        driver.enqueue(3000, now: at(0), parts: 3)
        driver.advance(to: at(150))
        #expect(driver.releasedBytes == 0)
        driver.advance(to: at(250))  // 200 ms since the last arrival
        #expect(driver.releasedBytes == 3000)
        #expect(driver.buffer.isEmpty)
        #expect(driver.timer == nil)
        #expect(driver.inOrder)
    }

    @Test("after a quiet release, later bytes are paced without a new prefill")
    func quietEndsPrefill() {
        var driver = Driver(interval: 100, prefill: 50)
        driver.enqueue(1000, now: at(0))
        driver.advance(to: at(300))
        #expect(driver.releasedBytes == 1000)
        driver.enqueue(1000, now: at(310))
        driver.advance(to: at(410))
        // Well short of 50 payloads, bytes still come out at the next tick.
        #expect(driver.releasedBytes > 1000)
        driver.advance(to: at(610))
        #expect(driver.releasedBytes == 2000)
    }

    @Test("the end of input releases everything at once, and bytes after it are not held")
    func endOfInput() {
        var driver = Driver(interval: 100, prefill: 50)
        driver.enqueue(5000, now: at(0), parts: 5)
        driver.endInput(now: at(10))
        #expect(driver.releasedBytes == 5000)
        #expect(driver.buffer.isEmpty)
        driver.enqueue(700, now: at(20))
        #expect(driver.releasedBytes == 5700)
        #expect(driver.inOrder)
    }

    @Test("a steady stream far above one payload per interval is never held back")
    func throughputNeverCapped() {
        // 250 ms interval, 10 kB payloads, a 4 MiB receive window, so high water is 2 MiB.
        // The sender may only have `window` bytes unconsumed: bytes held here count against it.
        let window = 4 << 20
        let payload = 10_000
        var driver = Driver(interval: 250, prefill: 5, payloadBytes: payload, highWater: window / 2)
        let linkPayloadsPerMs = 4  // 40 MB/s offered
        var blocked = 0
        for ms in 0..<5000 {
            for _ in 0..<linkPayloadsPerMs {
                guard driver.enqueuedBytes - driver.releasedBytes + payload <= window else {
                    blocked += 1
                    continue
                }
                driver.enqueue(payload, now: at(Int64(ms)))
            }
        }
        driver.advance(to: at(5000))
        let offered = 5000 * linkPayloadsPerMs * payload
        #expect(blocked == 0, "the window closed \(blocked) times: the buffer held the sender back")
        #expect(driver.enqueuedBytes == offered)
        #expect(driver.releasedBytes >= offered - (window / 2 + 5 * payload))
        #expect(driver.peakHeld < window / 2 + 5 * payload + payload)
        #expect(driver.inOrder)
    }

    @Test("a slow stream is paced, a fast one passes: the release rate tracks the arrival rate")
    func rateTracksArrivals() {
        for payloadsPer100ms in [2, 20, 200] {
            var driver = Driver(interval: 100, prefill: 4, highWater: 1 << 20)
            let spacing = 100.0 / Double(payloadsPer100ms)
            for index in 0..<(payloadsPer100ms * 30) {  // 3 seconds
                driver.enqueue(1000, now: at(Int64(Double(index) * spacing)))
            }
            driver.advance(to: at(3000))
            // Over the run, everything but the jitter buffer and one interval has gone out.
            let lag = driver.enqueuedBytes - driver.releasedBytes
            #expect(lag <= 4000 + payloadsPer100ms * 1000 * 2, "\(payloadsPer100ms) per interval: \(lag) bytes behind")
            #expect(driver.inOrder)
        }
    }
}

extension SteadyRateBufferTests {
    /// The spread (standard deviation) of the gaps between consecutive instants, in ms.
    static func spacingSpread(_ instants: [NIODeadline]) -> Double {
        let gaps = zip(instants.dropFirst(), instants).map { Double(($0 - $1).nanoseconds) / 1e6 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        return (gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)).squareRoot()
    }

    @Test(
        "--mode live's buffer (40 ms, 4 payloads) releases a jittered steady stream at steadier spacing than it arrived"
    )
    func jitterSmoothed() {
        var driver = Driver(interval: 40, prefill: 4, payloadBytes: 1000)
        var generator = SplitMix64(seed: 40)
        var arrivals: [NIODeadline] = []
        // One payload every 40 ms on average, each up to 30 ms early or late (a jittery path).
        for index in 0..<200 {
            let jitter = Int64.random(in: -30...30, using: &generator)
            arrivals.append(at(1000 + Int64(index) * 40 + jitter))
        }
        arrivals.sort()
        for arrival in arrivals { driver.enqueue(1000, now: arrival) }
        driver.advance(to: at(1000 + 200 * 40 + 1000))
        #expect(driver.inOrder)
        let releases = driver.releases.map(\.at)
        let arrivalSpread = Self.spacingSpread(arrivals)
        let releaseSpread = Self.spacingSpread(releases)
        #expect(
            releaseSpread < arrivalSpread / 2,
            "release spacing spread \(releaseSpread) ms, arrivals \(arrivalSpread) ms")
    }
}
