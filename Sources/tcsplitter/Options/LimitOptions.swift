import ArgumentParser
import TCSplitterCore

/// Bounds on sessions, connections and memory. Shown under "Limits" in `--help`.
struct LimitOptions: ParsableArguments {
    @Option(
        name: .customLong("max-sessions"), parsing: .unconditional,
        help: "Sessions open at once on this end (1-100000).", parser: Int.parser(in: 1...100_000))
    var maxSessions = 1024

    @Option(
        name: .customLong("max-conns"), parsing: .unconditional,
        help:
            "Server: data connections one client end may hold; more are closed at once (default 1024). Client: the most connections --conns auto grows a pool to (default 64).",
        transform: Int.parser(in: 1...1_000_000)
    )
    var maxConns: Int?

    @Option(
        name: .customLong("max-buffer"), parsing: .unconditional,
        help:
            "Bytes all sessions of an end may buffer in the worst case (e.g. 8GiB): a session is admitted only while sessions x 2 x --window fits.",
        parser: ByteCount.parser(in: 1...(1 << 50))
    )
    var maxBuffer = ByteCount(bytes: 8 << 30)
}
