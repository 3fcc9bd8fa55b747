import NIOCore
import TCSplitterCore

/// What `--conns auto` keeps between samples: the sizer, and the goodput and busy ticks of the
/// interval under way.
struct PoolSizingState {
    var sizer: PoolSizer
    /// When the interval under way began, and the goodput counters then.
    var intervalStart: NIODeadline
    var goodputMark: Int
    /// Housekeeping ticks in the interval, and those at which the tunnel wanted more than it had.
    var ticks = 0
    var busyTicks = 0
    /// The last change, for the status report.
    var lastReason: PoolSizer.Reason?
    /// The least smoothed round trip of the sync connection seen so far: the path's own, before
    /// the tunnel's traffic queued behind it (what the pool's floor follows).
    var leastRoundTrip: TimeAmount?
}

extension TunnelClient {
    /// Bytes the tunnel delivered and had acknowledged so far, both directions.
    var goodputBytes: Int {
        self.link.counters.values.bytesAcknowledged + self.link.counters.values.bytesReceived
    }

    /// A measurement interval (`PoolSizer.interval(roundTrip:)`) for the sync connection's round trip.
    var poolSizingInterval: TimeAmount {
        PoolSizer.interval(roundTrip: self.link.roundTrip.smoothed ?? .zero)
    }

    /// Called at each housekeeping tick: notes whether the tunnel wanted more than it had, and at
    /// the end of an interval asks the sizer, then executes its answer.
    func samplePool(now: NIODeadline) {
        guard var state = self.poolSizing else { return }
        if let roundTrip = self.link.roundTrip.smoothed, roundTrip < state.leastRoundTrip ?? .hours(1) {
            state.leastRoundTrip = roundTrip
            if case .resize(let size, let reason) = state.sizer.roundTripMeasured(roundTrip) {
                state.lastReason = reason
                self.logger.info(
                    "pool: \(size) fling connections (\(reason.rawValue); \(roundTrip.milliseconds) ms)",
                    metadata: ["conns": "\(size)"]
                )
                self.resizePools(to: size)
            }
        }
        state.ticks += 1
        let windowFull = self.link.sessions.values.contains { !$0.send.inputEnded && $0.send.readAllowance == 0 }
        if self.link.dispatcher.queuedPayloads > 0 || windowFull { state.busyTicks += 1 }
        let elapsed = now - state.intervalStart
        guard elapsed >= self.poolSizingInterval else {
            self.poolSizing = state
            return
        }
        let goodput = Double(self.goodputBytes - state.goodputMark) / (Double(elapsed.nanoseconds) / 1e9)
        // Busy for a quarter of the interval or more: the pool, not the application, set the pace.
        let busy = state.busyTicks * 4 >= state.ticks
        let action = state.sizer.sample(goodputBytesPerSecond: goodput, busy: busy, now: now)
        self.logger.debug(
            "pool sample: \(Int(goodput * 8 / 1e6)) Mbit/s over \(elapsed.milliseconds) ms, busy \(state.busyTicks) of \(state.ticks) ticks, \(state.sizer.size) connections"
        )
        state.intervalStart = now
        state.goodputMark = self.goodputBytes
        state.ticks = 0
        state.busyTicks = 0
        switch action {
        case .resize(let size, let reason):
            state.lastReason = reason
            self.logger.info(
                "pool: \(size) fling connections (\(reason.rawValue); \(Int(goodput * 8 / 1e6)) Mbit/s over the last \(elapsed.milliseconds) ms)",
                metadata: ["conns": "\(size)"]
            )
            self.resizePools(to: size)
        case .holds(let size, let gain):
            self.logger.info(
                "pool: holding at \(size) fling connections (the last step added \(Int((gain * 100).rounded()))% goodput; \(Int(goodput * 8 / 1e6)) Mbit/s)",
                metadata: ["conns": "\(size)"]
            )
        case .none:
            break
        }
        self.poolSizing = state
    }
}
