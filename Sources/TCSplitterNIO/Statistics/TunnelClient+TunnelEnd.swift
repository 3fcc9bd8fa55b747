import NIOCore
import TCSplitterCore

extension TunnelClient: TunnelEnd {
    public func statistics() -> EventLoopFuture<EndStatistics> {
        self.eventLoop.submit {
            var statistics = self.link.counters.snapshot(
                role: .client,
                configuration: self.configuration,
                badInput: self.badInput.total
            )
            self.link.addLiveState(to: &statistics)
            statistics.poolConnections = self.poolSize
            statistics.poolReason = self.poolSizing.map { $0.lastReason?.rawValue ?? "auto, initial size" }
            return statistics
        }
    }

    public func logState() {
        self.eventLoop.execute {
            let pools = self.pools.map { kind, pool in
                "\(kind)[members=\(pool.members.count) dialing=\(pool.dialing) target=\(pool.target) failures=\(pool.consecutiveFailures)\(pool.redialScheduled ? " backoff" : "")]"
            }
            self.logger.info("pools: \(pools.sorted().joined(separator: " "))")
            self.link.logState()
        }
    }

    public func drain(gracePeriod: TimeAmount) -> EventLoopFuture<DrainOutcome> {
        self.eventLoop.flatSubmit {
            // No new local connections; the pool and the sync connection go on for the sessions.
            self.listener?.close(promise: nil)
            return SessionDrain.wait(on: self.eventLoop, gracePeriod: gracePeriod, logger: self.logger) {
                self.link.sessions.count
            }
        }
    }
}
