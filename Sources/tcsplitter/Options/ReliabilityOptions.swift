import ArgumentParser
import TCSplitterCore

/// Recovering lost payloads, and how long each wait may take. Shown under "Reliability" in `--help`.
struct ReliabilityOptions: ParsableArguments {
    /// The timeouts' range: a millisecond to a day.
    static let timeoutRange = 1...Milliseconds.dayMilliseconds

    @Option(
        name: .customLong("fec"), parsing: .unconditional,
        help:
            "data:parity Reed-Solomon (Intel ISA-L) shards per group: every data payloads get parity payloads on other connections, and any data of data+parity rebuild the group. 0 = off. Use --conns of at least 2 x (data + parity). Same on both ends.",
        parser: DataAndParity.parse
    )
    var fec = DataAndParity(dataShards: 0, parityShards: 0)

    @Option(
        name: .customLong("retries"), parsing: .unconditional,
        help:
            "on:skip. on 1 (the default for --protocol tcp; udp defaults to 0:-1): the sender keeps unacknowledged payloads, resends at once what a connection that died carried, and resends what the receiver asks for only when its connection is gone or stuck (a payload still queued on a live connection is slow, not lost), so a reset connection never costs a session. 0 = off: a lost payload ends its session after --stall-timeout. skip N: give up on missing bytes after N requests and go on without them (corrupts a byte stream; each skip is logged with its range); -1 never.",
        transform: RetryPolicy.parse
    )
    var retries: RetryPolicy?

    @Option(
        name: .customLong("dial-timeout"), parsing: .unconditional,
        help: "ms allowed for a dial of the server or of --forward.",
        parser: Milliseconds.parser(in: ReliabilityOptions.timeoutRange))
    var dialTimeout = Milliseconds(5000)

    @Option(
        name: .customLong("hello-timeout"), parsing: .unconditional, help: "ms allowed for a new connection's hello.",
        parser: Milliseconds.parser(in: ReliabilityOptions.timeoutRange))
    var helloTimeout = Milliseconds(5000)

    @Option(
        name: .customLong("idle-timeout"), parsing: .unconditional,
        help: "ms after which an idle fling connection is replaced.",
        parser: Milliseconds.parser(in: ReliabilityOptions.timeoutRange))
    var idleTimeout = Milliseconds(30000)

    @Option(
        name: .customLong("stall-timeout"), parsing: .unconditional,
        help:
            "ms after which bytes missing from a stream end its session with an error; also how long sessions wait for a lost sync connection to come back.",
        parser: Milliseconds.parser(in: ReliabilityOptions.timeoutRange)
    )
    var stallTimeout = Milliseconds(30000)
}
