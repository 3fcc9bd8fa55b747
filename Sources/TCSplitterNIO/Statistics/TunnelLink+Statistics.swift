import NIOCore
import TCSplitterCore

extension TunnelLink {
    /// Adds what this link has open and buffered now to `statistics` (an end sums its links).
    func addLiveState(to statistics: inout EndStatistics) {
        statistics.sessionsOpen += self.sessions.count
        if self.sync != nil { statistics.connectionsOpen[.sync, default: 0] += 1 }
        for connection in self.dataConnections.values {
            if let kind = connection.kind { statistics.connectionsOpen[kind, default: 0] += 1 }
        }
        for session in self.sessions.values {
            statistics.sendBufferedBytes += session.send.pendingBytes + session.send.unacknowledgedBytes
            statistics.receiveBufferedBytes +=
                Int(session.receive.deliveredOffset - session.receive.consumedOffset) + session.receive.stashedBytes
        }
        statistics.queuedBytes += self.dispatcher.queuedBytes
        statistics.wireRatio = max(statistics.wireRatio, self.wireRatio)
    }
}

extension EndCounters {
    /// A snapshot with these totals, the end's limits, and nothing open yet (links add theirs).
    func snapshot(role: Role, configuration: TunnelConfiguration, badInput: Int) -> EndStatistics {
        var statistics = EndStatistics(
            role: role,
            uptime: .now() - self.startedAt,
            windowBytes: configuration.windowBytes,
            maxSessions: configuration.effectiveMaxSessions
        )
        statistics.counters = self.values
        statistics.badInput = badInput
        return statistics
    }
}
