import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Round-trip times of small request/response exchanges, as an interactive application (ssh)
/// sees them: one connection with TCP_NODELAY, a request of `size` bytes, its echo read back in
/// full, then the next.
struct RoundTripSamples: Sendable, CustomStringConvertible {
    /// Every timed round trip, in microseconds, sorted.
    var microseconds: [Double]

    /// The mean.
    var mean: Double { self.microseconds.reduce(0, +) / Double(max(1, self.microseconds.count)) }

    /// The value below which `fraction` of the samples lie.
    func percentile(_ fraction: Double) -> Double {
        guard !self.microseconds.isEmpty else { return .nan }
        let index = Int((fraction * Double(self.microseconds.count - 1)).rounded())
        return self.microseconds[min(self.microseconds.count - 1, max(0, index))]
    }

    var description: String {
        "mean \(Self.format(self.mean)) µs, p50 \(Self.format(self.percentile(0.5))) µs, p99 \(Self.format(self.percentile(0.99))) µs over \(self.microseconds.count)"
    }

    static func format(_ value: Double) -> String { String(Int(value.rounded())) }
}

extension PlainSocket {
    /// Connects to `127.0.0.1:port` and times `count` round trips of `size` bytes after `warmup`
    /// untimed ones (the session's setup). Each reply must equal its request. Runs on its own
    /// thread (blocking calls); fails when `timeout` passes.
    static func roundTrips(
        port: Int, count: Int, warmup: Int = 10, size: Int = 100, timeout: Duration
    ) async throws
        -> RoundTripSamples
    {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        try self.blockingRoundTrips(
                            port: port, count: count, warmup: warmup, size: size, timeout: timeout)
                    })
            }
            thread.name = "tcsplitter-test-round-trips"
            thread.start()
        }
    }

    private static func blockingRoundTrips(
        port: Int, count: Int, warmup: Int, size: Int, timeout: Duration
    ) throws
        -> RoundTripSamples
    {
        let deadline = ContinuousClock.now + timeout
        let descriptor = try self.makeSocket()
        defer { close(descriptor) }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw HarnessError("connect(127.0.0.1:\(port)) failed: errno \(errno)") }
        var samples: [Double] = []
        samples.reserveCapacity(count)
        let clock = ContinuousClock()
        for round in 0..<(warmup + count) {
            let request = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ round) }
            let start = clock.now
            try self.sendAll(request, on: descriptor)
            var reply: [UInt8] = []
            if let ended = self.receive(on: descriptor, into: &reply, until: size, deadline: deadline) {
                throw HarnessError("round trip \(round) ended early: \(ended) after \(reply.count) bytes")
            }
            let elapsed = clock.now - start
            guard reply == request else {
                throw HarnessError("round trip \(round): the reply differs from the request")
            }
            if round >= warmup {
                samples.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
            }
        }
        return RoundTripSamples(microseconds: samples.sorted())
    }
}
