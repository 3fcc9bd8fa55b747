import NIOCore

/// The status report of one end, formatted from snapshots (SIGUSR1 and `--stats`): a compact
/// block of plain lines for logs, or a single line that a terminal can update in place.
///
/// Rates (connections opened per second, goodput) are over the time between `previous` and
/// `current`; without a previous snapshot, over the end's whole uptime. Pure functions: no clock,
/// no I/O.
///
/// ```
/// tcsplitter status: client, up 14.2 s
///   sessions     1 open, 3 opened, 2 closed, 0 aborted
///   connections  fling 4 open, 12 opened (0.8/s); lasso 0 open, 0 opened (0.0/s); sync 1 open, 1 opened (0.1/s)
///   sent         4194304 bytes (4.0 MiB) in 420 payloads, goodput 295.4 KiB/s
///   received     4194304 bytes (4.0 MiB) in 420 payloads, goodput 295.4 KiB/s
///   recovery     0 payloads resent on 0 requests, 0 FEC rebuilds, 0 skips (0 bytes), 0 bad input, 0 orphan payloads
///   buffered     send 0 B, receive 0 B, of 4.0 MiB each; 0 B waiting for a connection; end bound 8.0 GiB
/// ```
public enum StatusReport {
    /// The first line of every block; what a reader of the log looks for.
    public static let heading = "tcsplitter status:"

    /// The multi-line block (each line ends with a newline).
    public static func block(_ current: EndStatistics, since previous: EndStatistics?) -> String {
        let rates = Rates(current, since: previous)
        let c = current.counters
        let connections = Self.kinds.map { kind in
            "\(kind) \(current.connectionsOpen[kind] ?? 0) open, \(c.connectionsOpened[kind] ?? 0) opened (\(Self.decimal(rates.connectionsPerSecond(kind)))/s)"
        }
        let lines = [
            "\(Self.heading) \(current.role), up \(Self.decimal(Self.seconds(current.uptime))) s",
            "  sessions     \(current.sessionsOpen) open, \(c.sessionsOpened) opened, \(c.sessionsClosed) closed, \(c.sessionsAborted) aborted\(Self.endReasons(c))",
            "  connections  " + connections.joined(separator: "; "),
            "  sent         \(c.bytesSent) bytes (\(Self.bytes(c.bytesSent))) in \(c.payloadsSent) payloads, goodput \(Self.bytes(rates.sentBytesPerSecond))/s",
            "  received     \(c.bytesReceived) bytes (\(Self.bytes(c.bytesReceived))) in \(c.payloadsReceived) payloads, goodput \(Self.bytes(rates.receivedBytesPerSecond))/s",
            "  pool         \(current.role == .client ? "\(current.poolConnections) fling connections (\(current.poolReason ?? "--conns"))" : "the client's"); wire \(Self.decimal(current.wireRatio)) x acknowledged (5 s)",
            "  recovery     \(c.payloadsResent) payloads resent on \(c.resendRequests) requests, \(c.fecRebuilds) FEC rebuilds, \(c.skips) skips (\(c.skippedBytes) bytes), \(current.badInput) bad input, \(c.orphanPayloads) orphan payloads",
            "  buffered     send \(Self.bytes(current.sendBufferedBytes)), receive \(Self.bytes(current.receiveBufferedBytes)), of \(Self.bytes(current.bufferLimitBytes)) each; \(Self.bytes(current.queuedBytes)) waiting for a connection; end bound \(Self.bytes(current.memoryBoundBytes))",
        ]
        return lines.map { $0 + "\n" }.joined()
    }

    /// One line (no newline) for a terminal's status line: the same figures, shortest form.
    public static func line(_ current: EndStatistics, since previous: EndStatistics?) -> String {
        let rates = Rates(current, since: previous)
        let c = current.counters
        let connections = Self.kinds.map { "\($0) \(current.connectionsOpen[$0] ?? 0)" }.joined(separator: " ")
        return [
            "\(current.role) up \(Int(Self.seconds(current.uptime))) s",
            "sessions \(current.sessionsOpen)",
            "conns \(connections)",
            "sent \(Self.bytes(c.bytesSent)) \(Self.bytes(rates.sentBytesPerSecond))/s",
            "received \(Self.bytes(c.bytesReceived)) \(Self.bytes(rates.receivedBytesPerSecond))/s",
            "resent \(c.payloadsResent) rebuilt \(c.fecRebuilds) skipped \(c.skips) bad \(current.badInput)",
            "buffered \(Self.bytes(current.sendBufferedBytes + current.receiveBufferedBytes))",
        ].joined(separator: " | ")
    }

    /// The sessions ended by reason, those that ended at least one: "; ended: closed 2, reset_by_peer 1".
    static func endReasons(_ counters: TunnelCounters) -> String {
        let ended = SessionEndReason.Kind.allCases.compactMap { kind in
            counters.sessionsEnded[kind].map { "\(kind.rawValue) \($0)" }
        }
        return ended.isEmpty ? "" : "; ended: " + ended.joined(separator: ", ")
    }

    /// Connection kinds in report order (alphabetical: fling, lasso, sync; a new kind appears by itself).
    static let kinds = ConnectionKind.allCases.sorted { $0.description < $1.description }

    /// `512 B`, `1.5 KiB`, `4.0 MiB`, `8.0 GiB`, `1.2 TiB`.
    public static func bytes(_ count: Int) -> String {
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count)
        var unit = 0
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(Self.decimal(value)) \(units[unit])"
    }

    /// A non-negative number with one decimal, rounded (`0.0`, `12.5`).
    static func decimal(_ value: Double) -> String {
        let tenths = Int((max(0, value) * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func seconds(_ amount: TimeAmount) -> Double {
        Double(amount.nanoseconds) / 1_000_000_000
    }

    /// Differences of two snapshots per second of the time between them.
    private struct Rates {
        let current: EndStatistics
        let previous: TunnelCounters
        let seconds: Double

        init(_ current: EndStatistics, since previous: EndStatistics?) {
            self.current = current
            self.previous = previous?.counters ?? TunnelCounters()
            self.seconds = StatusReport.seconds(current.uptime - (previous?.uptime ?? .zero))
        }

        func perSecond(_ now: Int, _ before: Int) -> Double {
            self.seconds > 0 ? Double(max(0, now - before)) / self.seconds : 0
        }

        func connectionsPerSecond(_ kind: ConnectionKind) -> Double {
            self.perSecond(
                self.current.counters.connectionsOpened[kind] ?? 0, self.previous.connectionsOpened[kind] ?? 0)
        }

        var sentBytesPerSecond: Int {
            Int(self.perSecond(self.current.counters.bytesSent, self.previous.bytesSent))
        }

        var receivedBytesPerSecond: Int {
            Int(self.perSecond(self.current.counters.bytesReceived, self.previous.bytesReceived))
        }
    }
}
