import NIOCore
import TCSplitterCore
import Testing

/// When a session acknowledges and reports progress on the sync connection.
@Suite struct ProgressReporterTests {
    static func reporter(window: Int = 4000, probe: Int64 = 1000) -> ProgressReporter {
        ProgressReporter(windowBytes: window, probeInterval: .milliseconds(probe), now: at(0))
    }

    @Test("with nothing new there is nothing to report")
    func nothingNew() {
        let reporter = Self.reporter()
        #expect(!reporter.shouldReport(consumed: 0, delivered: 0, sent: 0, acked: 0, now: at(10_000)))
        #expect(!reporter.shouldReport(consumed: 0, delivered: 500, sent: 0, acked: 0, now: at(10_000)))
    }

    @Test("a caught-up local socket is acknowledged at once, however little it took")
    func caughtUp() {
        let reporter = Self.reporter()
        #expect(reporter.shouldReport(consumed: 1, delivered: 1, sent: 0, acked: 0, now: at(0)))
    }

    @Test("while the socket lags, a report waits for a quarter of the window")
    func quarterWindow() {
        var reporter = Self.reporter(window: 4000)
        #expect(!reporter.shouldReport(consumed: 999, delivered: 3000, sent: 0, acked: 0, now: at(0)))
        #expect(reporter.shouldReport(consumed: 1000, delivered: 3000, sent: 0, acked: 0, now: at(0)))
        reporter.reported(consumed: 1000, sent: 0, now: at(0))
        #expect(reporter.reportedReceived == 1000)
        #expect(!reporter.shouldReport(consumed: 1999, delivered: 3000, sent: 0, acked: 0, now: at(0)))
        #expect(reporter.shouldReport(consumed: 2000, delivered: 3000, sent: 0, acked: 0, now: at(0)))
    }

    @Test("a tiny window still needs at least one new byte")
    func tinyWindow() {
        let reporter = Self.reporter(window: 3)
        #expect(!reporter.shouldReport(consumed: 0, delivered: 2, sent: 0, acked: 0, now: at(0)))
        #expect(reporter.shouldReport(consumed: 1, delivered: 2, sent: 0, acked: 0, now: at(0)))
    }

    @Test("an acknowledgement already sent is not sent again")
    func noRepeat() {
        var reporter = Self.reporter()
        reporter.reported(consumed: 500, sent: 0, now: at(0))
        #expect(!reporter.shouldReport(consumed: 500, delivered: 500, sent: 0, acked: 0, now: at(60_000)))
    }

    @Test("unacknowledged sent bytes are reported once per probe interval")
    func probe() {
        var reporter = Self.reporter(probe: 1000)
        #expect(!reporter.shouldReport(consumed: 0, delivered: 0, sent: 100, acked: 0, now: at(999)))
        #expect(reporter.shouldReport(consumed: 0, delivered: 0, sent: 100, acked: 0, now: at(1000)))
        reporter.reported(consumed: 0, sent: 100, now: at(1000))
        #expect(reporter.reportedSent == 100)
        // The same sent offset is not reported again; a new one waits for the next interval.
        #expect(!reporter.shouldReport(consumed: 0, delivered: 0, sent: 100, acked: 0, now: at(5000)))
        #expect(!reporter.shouldReport(consumed: 0, delivered: 0, sent: 200, acked: 0, now: at(1999)))
        #expect(reporter.shouldReport(consumed: 0, delivered: 0, sent: 200, acked: 0, now: at(2000)))
    }

    @Test("fully acknowledged sent bytes need no probe")
    func noProbeWhenAcked() {
        let reporter = Self.reporter(probe: 1000)
        #expect(!reporter.shouldReport(consumed: 0, delivered: 0, sent: 100, acked: 100, now: at(60_000)))
    }

    @Test("reported offsets never go backwards")
    func monotonic() {
        var reporter = Self.reporter()
        reporter.reported(consumed: 800, sent: 900, now: at(0))
        reporter.reported(consumed: 100, sent: 50, now: at(10))
        #expect(reporter.reportedReceived == 800)
        #expect(reporter.reportedSent == 900)
    }
}
