import ArgumentParser
import TCSplitterCore

/// The server end's addresses, where it forwards, and whom it admits. Shown under "Server: addresses and admission" in `--help`.
struct ServerOptions: ParsableArguments {
    @Option(
        name: .customLong("lFling"),
        help: "Server: address to accept fling (data) connections on. Setting it makes this end a server.")
    var lFling = "0"

    @Option(name: .customLong("lSync"), help: "Server: address to accept sync (control) connections on.")
    var lSync = "0"

    @Option(
        name: .customLong("lLasso"),
        help: "Server: an extra address to accept lasso connections on (they are also accepted on --lFling). 0 = none.")
    var lLasso = "0"

    @Option(
        name: .customLong("lFlingR"),
        help: ArgumentHelp(
            "Accepted for compatibility and ignored: the sync connection now carries control both ways.",
            visibility: .hidden))
    var lFlingR = "0"

    @Option(
        name: .customLong("forward"),
        help:
            "Server: the service each session is forwarded to (host:port). Required, unless the server only serves transparent clients (--allow)."
    )
    var forward: String?

    @Option(
        name: .customLong("allow"),
        help:
            "Server, repeatable: CIDR[:port or low-high] a transparent client may have this end dial, e.g. 198.18.20.0/24:7000-7999 or [2001:db8::/32]:443. Without it, destinations from clients are never dialled; anything outside is refused (logged, and the client's connection is reset)."
    )
    var allow: [String] = []

    @Option(
        name: .customLong("max-handshakes"), parsing: .unconditional,
        help:
            "Server: connections still in their hello at once; more are closed at once (with --hello-timeout, this bounds a connection flood)."
    )
    var maxHandshakes = "256"

    @Option(name: .customLong("max-clients"), parsing: .unconditional, help: "Server: client ends served at once.")
    var maxClients = "64"
}
