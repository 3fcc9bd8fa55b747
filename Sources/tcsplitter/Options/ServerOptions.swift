import ArgumentParser
import TCSplitterCore

/// The server end's addresses, where it forwards, and whom it admits. Shown under "Server: addresses and admission" in `--help`.
struct ServerOptions: ParsableArguments {
    @Option(
        name: .customLong("lFling"),
        help: "Server: address to accept fling (data) connections on. Setting it makes this end a server.",
        parser: AddressOrOff.parse)
    var lFling = AddressOrOff.off

    @Option(
        name: .customLong("lSync"), help: "Server: address to accept sync (control) connections on.",
        parser: AddressOrOff.parse)
    var lSync = AddressOrOff.off

    @Option(
        name: .customLong("lLasso"),
        help: "Server: an extra address to accept lasso connections on (they are also accepted on --lFling). 0 = none.",
        parser: AddressOrOff.parse)
    var lLasso = AddressOrOff.off

    @Option(
        name: .customLong("lFlingR"),
        help: ArgumentHelp(
            "Accepted for compatibility and ignored: the sync connection now carries control both ways.",
            visibility: .hidden),
        parser: AddressOrOff.parse)
    var lFlingR = AddressOrOff.off

    @Option(
        name: .customLong("forward"),
        help:
            "Server: the service each session is forwarded to (host:port). Required, unless the server only serves transparent clients (--allow).",
        transform: AddressOrOff.parse
    )
    var forward: AddressOrOff?

    @Option(
        name: .customLong("allow"),
        help:
            "Server, repeatable: CIDR[:port or low-high] a transparent client may have this end dial, e.g. 198.18.20.0/24:7000-7999 or [2001:db8::/32]:443. Without it, destinations from clients are never dialled; anything outside is refused (logged, and the client's connection is reset).",
        transform: AllowRule.argumentParser
    )
    var allow: [AllowRule] = []

    @Option(
        name: .customLong("max-handshakes"), parsing: .unconditional,
        help:
            "Server: connections still in their hello at once; more are closed at once (with --hello-timeout, this bounds a connection flood).",
        parser: Int.parser(in: 1...1_000_000)
    )
    var maxHandshakes = 256

    @Option(
        name: .customLong("max-clients"), parsing: .unconditional, help: "Server: client ends served at once.",
        parser: Int.parser(in: 1...100_000))
    var maxClients = 64
}
