import ArgumentParser
import TCSplitterCore

/// The client end's addresses and its pool of connections. Shown under "Client: addresses and pool" in `--help`.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customLong("listen"), help: "Client: where local applications connect (host:port).",
        parser: AddressOrOff.parse)
    var listen = AddressOrOff(address: EndpointAddress(host: "127.0.0.1", port: 6000))

    @Option(
        name: .customLong("rFling"),
        help: "Client: the server's fling (data) address. Setting it makes this end a client.",
        parser: AddressOrOff.parse)
    var rFling = AddressOrOff.off

    @Option(
        name: .customLong("rSync"),
        help:
            "Client: the server's sync (control) address. Default: the --rFling host, port \(TunnelConfiguration.defaultSyncPort) (the scripts' sync port).",
        transform: AddressOrOff.parse
    )
    var rSync: AddressOrOff?

    @Option(
        name: .customLong("rLasso"),
        help:
            "Client: the server's lasso address (dup lasso, both, none). 0 = the --rFling address (the server tells lasso and fling connections apart by their hellos).",
        parser: AddressOrOff.parse
    )
    var rLasso = AddressOrOff.off

    @Option(
        name: .customLong("rFlingR"),
        help: ArgumentHelp(
            "Accepted for compatibility and ignored: the sync connection now carries control both ways.",
            visibility: .hidden),
        parser: AddressOrOff.parse)
    var rFlingR = AddressOrOff.off

    @Option(
        name: .customLong("conns"), parsing: .unconditional,
        help:
            "Client: fling connections kept pre-dialed. auto (the default): start at 4 (8 past a 60 ms round trip, 16 past 120 ms: long paths need more flows and each step costs them seconds) and double the pool while the tunnel is busy and each step raises the acknowledged goodput by 10% or more, and by a quarter of what it added in connections (25% for a doubling) (the mean of the two intervals after it, each max(1 s, 4 round trips): the knee where more flows stop helping), take back a step that lowered it (confirmed over a third interval), re-probe after 30 s; on a long path (a floor above 4) the floor holds for the first 10 s of busy traffic, a size is judged once its readings stop rising, every reading must show the gain, and a step that did not pay is taken back; and shrink back to the start size after 10 s without traffic; at most --max-conns (64), at most 16 more per step. A number (1-1024) fixes the pool (--mode stealth: 4).",
        parser: AutoOr.parser(Int.parser(in: 1...1024, expected: "auto or a whole number of connections"))
    )
    var conns = AutoOr<Int>.auto

    @Option(
        name: .customLong("lassoes"), parsing: .unconditional,
        help:
            "Client: lasso connections kept pre-dialed for downstream data in dup lasso, both and none (0-1024; 0 = as many as --conns). Refused in dup fling.",
        parser: Int.parser(in: 0...1024)
    )
    var lassoes = 0

    @Option(
        name: .customLong("dup"),
        help:
            "Client: which connections carry which direction (the server follows each client's choice). All connections are dialed by the client. fling: --conns fling connections carry both directions (general use, bulk upload). lasso: fling connections carry upstream; --lassoes lasso connections, held open by the server, carry downstream as soon as there is some, fling connections only as a fallback (interactive ssh, live video: downstream never waits behind upstream). both: downstream on whichever fling or lasso connection is ready first (bulk download: both pools carry it). none: simplex, each connection one direction only (fling up, lasso down), closing after its --budget (metered links that treat one-way flows best)."
    )
    var dup = DupMode.fling

    @Option(
        name: .customLong("after"), parsing: .unconditional,
        help: "ms: dial one fling connection at start and the rest of the pool after this delay.",
        parser: Milliseconds.parser())
    var after = Milliseconds(0)

    @Flag(
        name: .customLong("transparent"),
        help:
            "Client: accept connections a router redirected to --listen (nftables/iptables REDIRECT, or TPROXY), read each one's original destination (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST, or the local address under TPROXY) and have the server dial it. The server must admit it with --allow."
    )
    var transparent = false
}
