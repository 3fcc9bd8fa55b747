import NIOCore
import TCSplitterCore
import Testing

/// The status report's text, from snapshots with known figures.
@Suite struct StatusReportTests {
    /// A client end 10 s up that moved 1 MiB each way on one session, with some connections.
    static func snapshot(uptime seconds: Int64 = 10, bytes: Int = 1 << 20, flingOpened: Int = 20) -> EndStatistics {
        var statistics = EndStatistics(
            role: .client, uptime: .seconds(seconds), windowBytes: 4 << 20, maxSessions: 1024)
        statistics.counters.sessionsOpened = 2
        statistics.counters.sessionsClosed = 1
        statistics.counters.bytesSent = bytes
        statistics.counters.bytesReceived = bytes / 2
        statistics.counters.payloadsSent = 105
        statistics.counters.payloadsReceived = 53
        statistics.counters.connectionsOpened = [.fling: flingOpened, .sync: 1]
        statistics.counters.payloadsResent = 3
        statistics.counters.resendRequests = 2
        statistics.counters.fecRebuilds = 4
        statistics.counters.skips = 1
        statistics.counters.skippedBytes = 10_000
        statistics.sessionsOpen = 1
        statistics.connectionsOpen = [.fling: 4, .sync: 1]
        statistics.sendBufferedBytes = 1536
        statistics.receiveBufferedBytes = 512
        statistics.badInput = 7
        return statistics
    }

    /// The block's lines, keyed by their label (the heading under `heading`).
    static func lines(_ block: String) -> [String: String] {
        var lines: [String: String] = [:]
        for line in block.split(separator: "\n") {
            if line.hasPrefix(StatusReport.heading) {
                lines["heading"] = String(line)
            } else {
                let words = line.split(separator: " ", maxSplits: 1)
                lines[String(words[0])] = words.count > 1 ? String(words[1].drop(while: { $0 == " " })) : ""
            }
        }
        return lines
    }

    @Test("the block has one line per figure group, every line ends with a newline, and bytes are exact")
    func blockShape() {
        let block = StatusReport.block(Self.snapshot(), since: nil)
        #expect(block.hasSuffix("\n"))
        #expect(block.split(separator: "\n").count == 8)
        let lines = Self.lines(block)
        #expect(lines["heading"] == "tcsplitter status: client, up 10.0 s")
        #expect(lines["sessions"] == "1 open, 2 opened, 1 closed, 0 aborted")
        #expect(lines["sent"]?.hasPrefix("1048576 bytes (1.0 MiB) in 105 payloads") == true)
        #expect(lines["received"]?.hasPrefix("524288 bytes (512.0 KiB) in 53 payloads") == true)
        #expect(
            lines["recovery"]
                == "3 payloads resent on 2 requests, 4 FEC rebuilds, 1 skips (10000 bytes), 7 bad input, 0 orphan payloads"
        )
        #expect(
            lines["buffered"]
                == "send 1.5 KiB, receive 512 B, of 4.0 MiB each; 0 B waiting for a connection; end bound 8.0 GiB")
        #expect(lines["pool"] == "0 fling connections (--conns); wire 0.0 x acknowledged (5 s)")
    }

    @Test("the pool line shows the size --conns auto chose and why, and the wire ratio")
    func poolLine() {
        var statistics = Self.snapshot()
        statistics.poolConnections = 16
        statistics.poolReason = PoolSizer.Reason.grew.rawValue
        statistics.wireRatio = 1.04
        let lines = Self.lines(StatusReport.block(statistics, since: nil))
        #expect(lines["pool"] == "16 fling connections (goodput grew with the pool); wire 1.0 x acknowledged (5 s)")
    }

    @Test("connections are listed for every kind, fling, lasso, sync, even those never opened")
    func everyKind() {
        let lines = Self.lines(StatusReport.block(Self.snapshot(), since: nil))
        #expect(
            lines["connections"]
                == "fling 4 open, 20 opened (2.0/s); lasso 0 open, 0 opened (0.0/s); sync 1 open, 1 opened (0.1/s)")
    }

    @Test("without a previous report, rates are over the whole uptime")
    func ratesOverUptime() {
        let lines = Self.lines(StatusReport.block(Self.snapshot(uptime: 4, bytes: 4 << 20), since: nil))
        #expect(lines["sent"]?.hasSuffix("goodput 1.0 MiB/s") == true)
        #expect(lines["received"]?.hasSuffix("goodput 512.0 KiB/s") == true)
    }

    @Test("with a previous report, rates are the differences over the time between the two")
    func ratesSincePrevious() {
        let previous = Self.snapshot(uptime: 10, bytes: 1 << 20, flingOpened: 20)
        let current = Self.snapshot(uptime: 12, bytes: 5 << 20, flingOpened: 30)
        let lines = Self.lines(StatusReport.block(current, since: previous))
        #expect(lines["sent"]?.hasSuffix("goodput 2.0 MiB/s") == true)
        #expect(lines["connections"]?.hasPrefix("fling 4 open, 30 opened (5.0/s)") == true)
        #expect(lines["connections"]?.hasSuffix("sync 1 open, 1 opened (0.0/s)") == true)
    }

    @Test("the one-line form carries the same figures, without newlines")
    func oneLine() {
        let line = StatusReport.line(Self.snapshot(), since: nil)
        #expect(!line.contains("\n"))
        #expect(
            line
                == "client up 10 s | sessions 1 | conns fling 4 lasso 0 sync 1 | sent 1.0 MiB 102.4 KiB/s | received 512.0 KiB 51.2 KiB/s | resent 3 rebuilt 4 skipped 1 bad 7 | buffered 2.0 KiB"
        )
    }

    @Test(
        "byte counts use binary units with one decimal",
        arguments: [
            (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (5 << 20, "5.0 MiB"),
            (8 << 30, "8.0 GiB"),
        ])
    func byteUnits(count: Int, text: String) {
        #expect(StatusReport.bytes(count) == text)
    }
}
