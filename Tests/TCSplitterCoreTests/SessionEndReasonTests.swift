import TCSplitterCore
import Testing

/// Why sessions end: a kind for the counters, whether it is abortive, and the sentence the log
/// and the peer's `reset` carry.
@Suite struct SessionEndReasonTests {
    @Test("only a completed session and an idle UDP one end cleanly; every other reason resets the local connection")
    func abortive() {
        #expect(!SessionEndReason.closed.isAbortive)
        #expect(!SessionEndReason.udpIdle(milliseconds: 60_000).isAbortive)
        let abortive: [SessionEndReason] = [
            .localFailed("x"), .localClosedEarly(undeliveredBytes: 3), .resetByPeer("x"), .refusedByServer("x"),
            .openTimedOut(milliseconds: 15_000), .serverUnreachable, .forwardUnreachable, .stalled("x"), .syncLost,
            .peerBrokeStream("x"), .shutdown, .internalError("x"),
        ]
        #expect(abortive.filter { !$0.isAbortive }.isEmpty)
        // Every kind is reachable, so every metric label can count something.
        #expect(Set(abortive.map(\.kind) + [.closed, .udpIdle]) == Set(SessionEndReason.Kind.allCases))
    }

    @Test("the sentences name what happened")
    func descriptions() {
        #expect(
            SessionEndReason.localClosedEarly(undeliveredBytes: 0).description
                == "local connection closed before its input ended")
        #expect(
            SessionEndReason.localClosedEarly(undeliveredBytes: 12).description
                == "local connection closed with 12 bytes undelivered")
        #expect(
            SessionEndReason.openTimedOut(milliseconds: 15_000).description
                == "the server did not open the session within 15000 ms")
        #expect(SessionEndReason.shutdown.description == "the tunnel end is stopping")
        #expect(SessionEndReason.Kind.resetByPeer.rawValue == "reset_by_peer")
    }

    @Test("the status report lists the sessions ended by reason, only those that happened")
    func reportedByReason() {
        var statistics = EndStatistics(role: .server, uptime: .seconds(1), windowBytes: 1 << 20, maxSessions: 8)
        #expect(StatusReport.block(statistics, since: nil).contains("0 aborted\n"))
        statistics.counters.sessionsEnded = [.closed: 2, .resetByPeer: 1]
        #expect(StatusReport.block(statistics, since: nil).contains("0 aborted; ended: closed 2, reset_by_peer 1\n"))
    }
}
