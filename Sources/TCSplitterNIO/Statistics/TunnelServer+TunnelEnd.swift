import NIOCore
import TCSplitterCore

extension TunnelServer: TunnelEnd {
    public func statistics() -> EventLoopFuture<EndStatistics> {
        self.eventLoop.submit {
            var statistics = self.counters.snapshot(
                role: .server,
                configuration: self.configuration,
                badInput: self.badInput.total
            )
            for link in self.links.values { link.addLiveState(to: &statistics) }
            return statistics
        }
    }

    public func logState() {
        self.eventLoop.execute {
            for link in self.links.values { link.logState() }
        }
    }

    public func drain(gracePeriod: TimeAmount) -> EventLoopFuture<DrainOutcome> {
        self.eventLoop.flatSubmit {
            // Connections are still accepted (the clients replace their fling connections while
            // sessions drain); new sessions are refused.
            self.stopped = true
            return SessionDrain.wait(on: self.eventLoop, gracePeriod: gracePeriod, logger: self.logger) {
                self.links.values.reduce(0) { $0 + $1.sessions.count }
            }
        }
    }
}
