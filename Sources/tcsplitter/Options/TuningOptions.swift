import ArgumentParser
import TCSplitterCore

/// How streams are cut, clocked and carried (the client's choice travels in its hello; the server follows it). Shown under "Tuning" in `--help`.
struct TuningOptions: ParsableArguments {
    @Option(
        name: .customLong("mode"),
        help: ArgumentHelp(
            "A preset of the tuning flags; flags given explicitly override it. The client's tuning travels in its hello and the server follows it, so the client's mode is enough (--frags and --fec must match on both ends). \(ModePreset.allCases.map(\.summary).joined(separator: "; ")).",
            valueName: "stealth|bulk|lossy|interactive|live"))
    var mode: ModePreset?

    @Option(
        name: .customLong("frags"), parsing: .unconditional,
        help:
            "payload:mtu in bytes. payload = stream bytes per payload (1-1048576, same on both ends); mtu is accepted and unused. On a fast path (--budget auto: connections spent 4 base budgets within 250 ms; until the budget is back at its base) and on a long one (a round trip of 60 ms or more) a payload takes the rest of a local read, up to 64 KiB, when that holds a full payload: fewer payloads for the same bytes; not with --fec, --protocol udp or a number for --budget.",
        parser: PayloadAndMTU.parse
    )
    var frags = PayloadAndMTU(payloadBytes: 10000, mtuBytes: 1250)

    @Option(
        name: .customLong("tick"), parsing: .unconditional,
        help:
            "ms: when a read drains the local socket having found less than a payload (a trickle, e.g. keystrokes) while earlier bytes are still unacknowledged, wait at most this long before reading again so small writes merge into one payload; bulk flows are read at once, so the tick bounds latency, never throughput. 0 = read as soon as data arrives.",
        parser: Milliseconds.parser()
    )
    var tick = Milliseconds(50)

    @Option(
        name: .customLong("tock"), parsing: .unconditional,
        help:
            "ms: a partial payload waits at most this long for more bytes while earlier bytes are unacknowledged (with nothing in flight it goes at once); complete payloads go at once. 0 = send at once.",
        parser: Milliseconds.parser()
    )
    var tock = Milliseconds(250)

    @Option(
        name: .customLong("buffer"), parsing: .unconditional,
        help:
            "ms:count, the playout buffer: hold count payloads, then release every ms at the arrival rate, catching up when behind. Without a count only a trickle of partial payloads is paced; a lone burst (sent with nothing else in flight) and a full payload's worth go at once. 0 = release at once.",
        parser: PlayoutBuffer.parse
    )
    var buffer = PlayoutBuffer(interval: Milliseconds(250), payloads: 0)

    @Option(
        name: .customLong("clocks"),
        help: ArgumentHelp(
            "adaptive: --tick, --tock and --buffer make bytes wait only when waiting can merge them with others (Nagle's rule: a request alone on an idle session goes at once; a trickle behind unacknowledged bytes is merged). fixed: the original's clocks, always (set by --mode stealth). The client's choice travels in its hello; the server follows it.",
            valueName: "adaptive|fixed"))
    var clocks = ClocksMode.adaptive

    @Option(
        name: .customLong("budget"), parsing: .unconditional,
        help:
            "Payloads a data connection carries each way before it is closed and replaced, each connection's drawn within ±25% so a pool does not retire at once (1 stays 1: the original's one payload per connection). auto (the default): 64, and a connection that spends its budget within 250 ms, or within 64 round trips on a long path (timed over the budget's second half), multiplies the budget of the connections after it by the power of two that would have made it last that long (up to 4096); one that lasts over 16 times that halves it; back to 64 when the pool goes idle (from a round trip of 60 ms on, 1024 is the least, for the connections already open too): a fast link does not open hundreds of connections a second, and on a long path a connection lives long enough to leave its slow start. A number is never scaled.",
        parser: AutoOr.parser(Int.parser(in: 1...1_000_000, expected: "auto or a whole number of payloads"))
    )
    var budget = AutoOr<Int>.auto

    @Option(
        name: .customLong("window"), parsing: .unconditional,
        help:
            "Bytes per session and direction buffered or in flight (e.g. 4MiB). A full window stops reading the local socket. Memory per session and end is at most 2 × window, and sessions are admitted while their windows fit --max-buffer. auto (the default): 4 MiB on paths up to 12.5 ms round trip, growing in proportion beyond (a 50 ms path: 16 MiB; 100 ms and more: 32 MiB, the most), chosen by the client for each session from the sync connection's round trip and declared in its open.",
        parser: AutoOr.parser(ByteCount.parser(in: 2...(1 << 30)))
    )
    var window = AutoOr<ByteCount>.auto

    @Option(
        name: .customLong("protocol"),
        help:
            "What the local application speaks: tcp or udp (same on both ends). udp: the client takes datagrams on --listen, one session per source address, and the server sends them to --forward from one socket per session; datagram boundaries are kept (up to 65507 bytes), a datagram whose bytes were lost is dropped (unless --retries), order is kept."
    )
    var localProtocol = LocalProtocol.tcp

    @Option(
        name: .customLong("udp-idle-timeout"), parsing: .unconditional,
        help: "Seconds (--protocol udp): a session with no datagram either way for this long ends.",
        parser: Seconds.parser(in: 1...Seconds.daySeconds))
    var udpIdleTimeout = Seconds(60)

    @Option(
        name: .customLong("congestion"),
        help:
            "TCP congestion control of the tunnel's own connections, e.g. bbr, cubic, reno (sysctl net.ipv4.tcp_available_congestion_control lists them; the end hosts keep theirs). auto (the default): bbr where the kernel allows it (net.ipv4.tcp_allowed_congestion_control, or any loaded algorithm for root), the system's default otherwise; the choice is logged at start. A name the kernel refuses is logged once and the default stays.",
        parser: AutoOr.parser { $0.trimmingSpaces().lowercased() }
    )
    var congestion = AutoOr<String>.auto

    @Option(
        name: .customLong("tos"), parsing: .unconditional,
        help: "IP TOS byte on tunnel connections (184 = 0xB8, DSCP EF); 0 leaves it unset.",
        parser: Int.parser(in: 0...255))
    var tos = 184
}
