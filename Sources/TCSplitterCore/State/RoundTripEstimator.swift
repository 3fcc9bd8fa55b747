import NIOCore

/// Smoothed round-trip time and the retry timeout derived from it (RFC 6298's estimator).
///
/// Samples come from sync pings. The timeout is `srtt + 4 × rttvar`, clamped to
/// `minimumTimeout...maximumTimeout`; before the first sample it is `initialTimeout`.
public struct RoundTripEstimator: Sendable {
    /// The smoothed round trip, once measured.
    public private(set) var smoothed: TimeAmount?
    /// The least round trip measured: the path without its queues.
    public private(set) var least: TimeAmount?
    /// The round trip's mean deviation.
    public private(set) var variation: TimeAmount = .zero
    /// The timeout before the first sample.
    public let initialTimeout: TimeAmount
    /// The smallest timeout (reordering across connections needs some slack even on loopback).
    public let minimumTimeout: TimeAmount
    /// The largest timeout.
    public let maximumTimeout: TimeAmount

    /// An estimator with no samples.
    public init(
        initialTimeout: TimeAmount = .milliseconds(500),
        minimumTimeout: TimeAmount = .milliseconds(50),
        maximumTimeout: TimeAmount = .seconds(10)
    ) {
        self.initialTimeout = initialTimeout
        self.minimumTimeout = minimumTimeout
        self.maximumTimeout = maximumTimeout
    }

    /// Takes one measured round trip.
    public mutating func add(sample: TimeAmount) {
        let sample = max(.zero, sample)
        self.least = min(self.least ?? sample, sample)
        guard let smoothed = self.smoothed else {
            self.smoothed = sample
            self.variation = .nanoseconds(sample.nanoseconds / 2)
            return
        }
        let error = abs(smoothed.nanoseconds - sample.nanoseconds)
        self.variation = .nanoseconds((self.variation.nanoseconds * 3 + error) / 4)
        self.smoothed = .nanoseconds((smoothed.nanoseconds * 7 + sample.nanoseconds) / 8)
    }

    /// How long a gap in a byte stream may last before the receiver asks for its bytes: twice
    /// the least round trip (a payload that left with its neighbours has had time to arrive behind
    /// one fast retransmit), at least `minimumTimeout`, at most `retryTimeout`. The smoothed round
    /// trip is no guide here: the sync connection queues behind the data connections, so on a
    /// loaded lossy path it reads several times the path's (637 ms on a 50 ms path), and a gap
    /// waited that long before anyone asked. Asking costs one control message; the sender resends
    /// only what `ResendPolicy` finds held up.
    public var requestTimeout: TimeAmount {
        guard let least else { return self.retryTimeout }
        return min(self.retryTimeout, max(self.minimumTimeout, least * 2))
    }

    /// How long a datagram gap may last before its bytes are asked for again; four of it (at
    /// least 2 s) make the sender's `stuckAfter` for `ResendPolicy`.
    public var retryTimeout: TimeAmount {
        guard let smoothed else { return self.initialTimeout }
        let timeout = TimeAmount.nanoseconds(smoothed.nanoseconds + 4 * self.variation.nanoseconds)
        return min(self.maximumTimeout, max(self.minimumTimeout, timeout))
    }
}
