import ArgumentParser
import NIOCore
import TCSplitterCore

/// Every tunnel flag, with the original's spellings (`--rFling`, `a:b` pairs, `0` = off) and code
/// defaults. Values are kept as text and parsed by Core's parsers, so every error names its flag.
struct TunnelOptions: ParsableArguments {
    @Option(name: .customLong("listen"), help: "Client: where local applications connect (host:port).")
    var listen = "127.0.0.1:6000"

    @Option(name: .customLong("forward"), help: "Server: the service each session is forwarded to (host:port). Required, unless the server only serves transparent clients (--allow).")
    var forward: String?

    @Option(name: .customLong("rFling"), help: "Client: the server's fling (data) address. Setting it makes this end a client.")
    var rFling = "0"

    @Option(name: .customLong("lFling"), help: "Server: address to accept fling (data) connections on. Setting it makes this end a server.")
    var lFling = "0"

    @Option(name: .customLong("rSync"), help: "Client: the server's sync (control) address. Default: the --rFling host, port \(TunnelConfiguration.defaultSyncPort) (the scripts' sync port).")
    var rSync: String?

    @Option(name: .customLong("lSync"), help: "Server: address to accept sync (control) connections on.")
    var lSync = "0"

    @Option(name: .customLong("rLasso"), help: "Client: the server's lasso address (dup lasso, both, none). 0 = the --rFling address (the server tells lasso and fling connections apart by their hellos).")
    var rLasso = "0"

    @Option(name: .customLong("lLasso"), help: "Server: an extra address to accept lasso connections on (they are also accepted on --lFling). 0 = none.")
    var lLasso = "0"

    @Option(name: .customLong("rFlingR"), help: "Accepted for compatibility and ignored: the sync connection now carries control both ways.")
    var rFlingR = "0"

    @Option(name: .customLong("lFlingR"), help: "Accepted for compatibility and ignored: the sync connection now carries control both ways.")
    var lFlingR = "0"

    @Option(name: .customLong("conns"), parsing: .unconditional, help: "Client: fling connections kept pre-dialed. auto (the default): start at 4 and double the pool while the tunnel is busy and each step raises the acknowledged goodput by 10% or more (the knee where more flows stop helping), take back a step that lowered it, re-probe after 30 s, and shrink back to 4 after 10 s without traffic; at most --max-conns (64), at most 16 more per second. A number (1-1024) fixes the pool (--mode stealth: 4).")
    var conns = "auto"

    @Option(name: .customLong("lassoes"), parsing: .unconditional, help: "Client: lasso connections kept pre-dialed for downstream data in dup lasso, both and none (0-1024; 0 = as many as --conns). Refused in dup fling.")
    var lassoes = "0"

    @Option(name: .customLong("frags"), parsing: .unconditional, help: "payload:mtu in bytes. payload = stream bytes per payload (1-1048576, same on both ends); mtu is accepted and unused. On a fast path (--budget auto doubled twice: connections spend their budgets within 250 ms; until it is back at its base) a payload takes the rest of a local read, up to 64 KiB, when that holds a full payload: fewer payloads for the same bytes; not with --fec, --retries, --protocol udp or a number for --budget.")
    var frags = "10000:1250"

    @Option(name: .customLong("tick"), parsing: .unconditional, help: "ms: when a read drains the local socket having found less than a payload (a trickle, e.g. keystrokes) while earlier bytes are still unacknowledged, wait at most this long before reading again so small writes merge into one payload; bulk flows are read at once, so the tick bounds latency, never throughput. 0 = read as soon as data arrives.")
    var tick = "50"

    @Option(name: .customLong("tock"), parsing: .unconditional, help: "ms: a partial payload waits at most this long for more bytes while earlier bytes are unacknowledged (with nothing in flight it goes at once); complete payloads go at once. 0 = send at once.")
    var tock = "250"

    @Option(name: .customLong("buffer"), parsing: .unconditional, help: "ms:count, the playout buffer: hold count payloads, then release every ms at the arrival rate, catching up when behind. Without a count only a trickle of partial payloads is paced; a lone burst (sent with nothing else in flight) and a full payload's worth go at once. 0 = release at once.")
    var buffer = "250:0"

    @Option(name: .customLong("clocks"), help: ArgumentHelp("adaptive: --tick, --tock and --buffer make bytes wait only when waiting can merge them with others (Nagle's rule: a request alone on an idle session goes at once; a trickle behind unacknowledged bytes is merged). fixed: the original's clocks, always (set by --mode stealth). The client's choice travels in its hello; the server follows it.", valueName: "adaptive|fixed"))
    var clocks = "adaptive"

    @Option(name: .customLong("after"), parsing: .unconditional, help: "ms: dial one fling connection at start and the rest of the pool after this delay.")
    var after = "0"

    @Option(name: .customLong("fec"), parsing: .unconditional, help: "data:parity Reed-Solomon (Intel ISA-L) shards per group: every data payloads get parity payloads on other connections, and any data of data+parity rebuild the group. 0 = off. Use --conns of at least 2 x (data + parity). Same on both ends.")
    var fec = "0:0"

    @Option(name: .customLong("retries"), parsing: .unconditional, help: "on:skip. on 1 (the default for --protocol tcp; udp defaults to 0:-1): the sender keeps unacknowledged payloads, resends at once what a connection that died carried, and resends what the receiver asks for only when its connection is gone or stuck (a payload still queued on a live connection is slow, not lost), so a reset connection never costs a session. 0 = off: a lost payload ends its session after --stall-timeout. skip N: give up on missing bytes after N requests and go on without them (corrupts a byte stream; each skip is logged with its range); -1 never.")
    var retries: String?

    @Option(name: .customLong("dup"), help: "Client: which connections carry which direction (the server follows each client's choice). All connections are dialed by the client. fling: --conns fling connections carry both directions (general use, bulk upload). lasso: fling connections carry upstream; --lassoes lasso connections, held open by the server, carry downstream as soon as there is some, fling connections only as a fallback (interactive ssh, live video: downstream never waits behind upstream). both: downstream on whichever fling or lasso connection is ready first (bulk download: both pools carry it). none: simplex, each connection one direction only (fling up, lasso down), closing after its --budget (metered links that treat one-way flows best).")
    var dup = "fling"

    @Option(name: .customLong("protocol"), help: "What the local application speaks: tcp or udp (same on both ends). udp: the client takes datagrams on --listen, one session per source address, and the server sends them to --forward from one socket per session; datagram boundaries are kept (up to 65507 bytes), a datagram whose bytes were lost is dropped (unless --retries), order is kept.")
    var localProtocol = "tcp"

    @Option(name: .customLong("udp-idle-timeout"), parsing: .unconditional, help: "Seconds (--protocol udp): a session with no datagram either way for this long ends.")
    var udpIdleTimeout = "60"

    @Option(name: .customLong("budget"), parsing: .unconditional, help: "Payloads a data connection carries each way before it is closed and replaced, each connection's drawn within ±25% so a pool does not retire at once (1 stays 1: the original's one payload per connection). auto (the default): 64, doubled for new connections (up to 4096) while connections spend theirs within 250 ms (timed over the budget's second half), halved once they take over a second, back to 64 when the pool goes idle: a fast link does not open hundreds of connections a second, a slow or lossy one keeps them short. A number is never scaled.")
    var budget = "auto"

    @Option(name: .customLong("window"), parsing: .unconditional, help: "Bytes per session and direction buffered or in flight (e.g. 4MiB). A full window stops reading the local socket. Memory per session and end is at most 2 × window.")
    var window = "4MiB"

    @Option(name: .customLong("max-sessions"), parsing: .unconditional, help: "Sessions open at once on this end (1-100000).")
    var maxSessions = "1024"

    @Option(name: .customLong("max-conns"), parsing: .unconditional, help: "Server: data connections one client end may hold; more are closed at once (default 1024). Client: the most connections --conns auto grows a pool to (default 64).")
    var maxConns: String?

    @Option(name: .customLong("max-handshakes"), parsing: .unconditional, help: "Server: connections still in their hello at once; more are closed at once (with --hello-timeout, this bounds a connection flood).")
    var maxHandshakes = "256"

    @Option(name: .customLong("max-clients"), parsing: .unconditional, help: "Server: client ends served at once.")
    var maxClients = "64"

    @Option(name: .customLong("max-buffer"), parsing: .unconditional, help: "Bytes all sessions of an end may buffer in the worst case (e.g. 8GiB): a session is admitted only while sessions x 2 x --window fits.")
    var maxBuffer = "8GiB"

    @Option(name: .customLong("congestion"), help: "TCP congestion control of the tunnel's own connections, e.g. bbr, cubic, reno (sysctl net.ipv4.tcp_available_congestion_control lists them; the end hosts keep theirs). auto (the default): bbr where the kernel allows it (net.ipv4.tcp_allowed_congestion_control, or any loaded algorithm for root), the system's default otherwise; the choice is logged at start. A name the kernel refuses is logged once and the default stays.")
    var congestion = "auto"

    @Option(name: .customLong("mode"), help: ArgumentHelp("A preset of the tuning flags; flags given explicitly override it. Give both ends the same mode. \(ModePreset.allCases.map(\.summary).joined(separator: "; ")).", valueName: "stealth|bulk|lossy|interactive|live"))
    var mode: String?

    @Option(name: .customLong("tos"), parsing: .unconditional, help: "IP TOS byte on tunnel connections (184 = 0xB8, DSCP EF); 0 leaves it unset.")
    var tos = "184"

    @Option(name: .customLong("dial-timeout"), parsing: .unconditional, help: "ms allowed for a dial of the server or of --forward.")
    var dialTimeout = "5000"

    @Option(name: .customLong("hello-timeout"), parsing: .unconditional, help: "ms allowed for a new connection's hello.")
    var helloTimeout = "5000"

    @Option(name: .customLong("idle-timeout"), parsing: .unconditional, help: "ms after which an idle fling connection is replaced.")
    var idleTimeout = "30000"

    @Option(name: .customLong("stall-timeout"), parsing: .unconditional, help: "ms after which bytes missing from a stream end its session with an error; also how long sessions wait for a lost sync connection to come back.")
    var stallTimeout = "30000"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("key"), help: "Pre-shared key (at least 16 bytes; same on both ends): every connection proves it, every frame is authenticated and encrypted (ChaCha20-Poly1305). Visible in ps: prefer --key-file or the TCSPLITTER_KEY environment variable.")
    var key: String?

    @Option(name: .customLong("key-file"), help: "File whose first line is the pre-shared key.")
    var keyFile: String?

    @Flag(name: .customLong("transparent"), help: "Client: accept connections a router redirected to --listen (nftables/iptables REDIRECT, or TPROXY), read each one's original destination (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST, or the local address under TPROXY) and have the server dial it. The server must admit it with --allow.")
    var transparent = false

    @Option(name: .customLong("allow"), help: "Server, repeatable: CIDR[:port or low-high] a transparent client may have this end dial, e.g. 198.18.20.0/24:7000-7999 or [2001:db8::/32]:443. Without it, destinations from clients are never dialled; anything outside is refused (logged, and the client's connection is reset).")
    var allow: [String] = []

    /// The role the set addresses imply, as the original inferred it.
    func inferredRole() throws(ConfigurationError) -> Role {
        let client = try EndpointAddress.parse(self.rFling, flag: "--rFling") != nil
        let localFling = try EndpointAddress.parse(self.lFling, flag: "--lFling")
        let localSync = try EndpointAddress.parse(self.lSync, flag: "--lSync")
        let server = localFling != nil || localSync != nil
        switch (client, server) {
        case (true, false): return .client
        case (false, true): return .server
        case (true, true):
            throw ConfigurationError(
                flag: "--rFling",
                "set either client addresses (--rFling, --rSync) or server addresses (--lFling, --lSync), not both"
            )
        case (false, false):
            throw ConfigurationError(
                flag: "--rFling",
                "nothing to run: set --rFling and --rSync for a client, or --lFling, --lSync and --forward for a server (see --help)"
            )
        }
    }

    /// The configuration these flags describe for `role`, validated.
    func configuration(role: Role, arguments: [String] = CommandLine.arguments) throws(ConfigurationError) -> TunnelConfiguration {
        let configuration = try self.withPreset(arguments: arguments).parsedValues(role: role)
        try configuration.validate()
        return configuration
    }

    /// These options with `--mode`'s values filled in where `arguments` set no value of their own.
    func withPreset(arguments: [String]) throws(ConfigurationError) -> TunnelOptions {
        guard let name = self.mode else { return self }
        guard let preset = ModePreset(rawValue: name.lowercased()) else {
            throw ConfigurationError(
                flag: "--mode", "\"\(name)\" is not one of \(ModePreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = self
        for (flag, value) in preset.flags(notSetIn: arguments) {
            switch flag {
            case "--budget": options.budget = value
            case "--tick": options.tick = value
            case "--tock": options.tock = value
            case "--buffer": options.buffer = value
            case "--frags": options.frags = value
            case "--window": options.window = value
            case "--conns": options.conns = value
            case "--congestion": options.congestion = value
            case "--dup": options.dup = value
            case "--fec": options.fec = value
            case "--clocks": options.clocks = value
            default: break
            }
        }
        return options
    }

    /// Every flag value parsed (each error names its flag), before the rules between flags.
    func parsedValues(role: Role) throws(ConfigurationError) -> TunnelConfiguration {
        var configuration = TunnelConfiguration(role: role)
        configuration.listen = try EndpointAddress.parse(self.listen, flag: "--listen")
        configuration.forward = try self.forward.flatMap { value throws(ConfigurationError) in
            try EndpointAddress.parse(value, flag: "--forward")
        }
        configuration.remoteFling = try EndpointAddress.parse(self.rFling, flag: "--rFling")
        configuration.localFling = try EndpointAddress.parse(self.lFling, flag: "--lFling")
        if let rSync = self.rSync {
            configuration.remoteSync = try EndpointAddress.parse(rSync, flag: "--rSync")
        } else if let fling = configuration.remoteFling {
            configuration.remoteSync = EndpointAddress(host: fling.host, port: TunnelConfiguration.defaultSyncPort)
        }
        configuration.localSync = try EndpointAddress.parse(self.lSync, flag: "--lSync")
        configuration.remoteLasso = try EndpointAddress.parse(self.rLasso, flag: "--rLasso")
        configuration.localLasso = try EndpointAddress.parse(self.lLasso, flag: "--lLasso")
        _ = try EndpointAddress.parse(self.rFlingR, flag: "--rFlingR")
        _ = try EndpointAddress.parse(self.lFlingR, flag: "--lFlingR")
        if self.conns.trimmingSpaces().lowercased() == "auto" {
            configuration.autoConnections = true
        } else {
            guard Int(self.conns.trimmingSpaces()) != nil else {
                throw ConfigurationError(flag: "--conns", "\"\(self.conns)\" is neither auto nor a whole number of connections")
            }
            configuration.connections = try FlagValue.integer(self.conns, flag: "--conns", in: 1...1024)
            configuration.autoConnections = false
        }
        configuration.lassoes = try FlagValue.integer(self.lassoes, flag: "--lassoes", in: 0...1024)
        let frags = try FlagValue.pair(
            self.frags, flag: "--frags", shape: "payload:mtu",
            first: 1...WireConstants.maxPayloadBytes, second: 0...65535, defaultSecond: 1250
        )
        configuration.payloadBytes = frags.0
        configuration.mtuBytes = frags.1
        configuration.tickInterval = .milliseconds(Int64(try Self.milliseconds(self.tick, flag: "--tick")))
        configuration.tockInterval = .milliseconds(Int64(try Self.milliseconds(self.tock, flag: "--tock")))
        let buffer = try FlagValue.pair(
            self.buffer, flag: "--buffer", shape: "ms:count",
            first: 0...3_600_000, second: 0...100_000, defaultSecond: 0
        )
        configuration.bufferInterval = .milliseconds(Int64(buffer.0))
        configuration.bufferPayloads = buffer.1
        configuration.rampDelay = .milliseconds(Int64(try Self.milliseconds(self.after, flag: "--after")))
        let fec = try FlagValue.pair(
            self.fec, flag: "--fec", shape: "data:parity", first: 0...255, second: 0...255, defaultSecond: 0
        )
        configuration.fecDataShards = fec.0
        configuration.fecParityShards = fec.1
        switch self.clocks.lowercased() {
        case "adaptive": configuration.adaptiveClocks = true
        case "fixed": configuration.adaptiveClocks = false
        default: throw ConfigurationError(flag: "--clocks", "\"\(self.clocks)\" is not adaptive or fixed")
        }
        guard let dup = DupMode(rawValue: self.dup.lowercased()) else {
            throw ConfigurationError(flag: "--dup", "\"\(self.dup)\" is not one of fling, lasso, both, none")
        }
        configuration.dup = dup
        configuration.transparent = self.transparent
        let congestion = self.congestion.trimmingSpaces().lowercased()
        configuration.autoCongestion = congestion == "auto"
        configuration.congestionControl = congestion == "auto" ? nil : congestion
        configuration.allowRules = try self.allow.map { value throws(ConfigurationError) in try AllowRule.parse(value) }
        guard let localProtocol = LocalProtocol(rawValue: self.localProtocol.lowercased()) else {
            throw ConfigurationError(flag: "--protocol", "\"\(self.localProtocol)\" is not tcp or udp")
        }
        configuration.localProtocol = localProtocol
        // Reliable by default for a byte stream; a datagram flow keeps going past a loss.
        let retries = try FlagValue.pair(
            self.retries ?? (localProtocol == .tcp ? "1:-1" : "0:-1"), flag: "--retries", shape: "on:skip",
            first: 0...1, second: -1...1_000_000, defaultSecond: -1
        )
        configuration.retries = retries.0 == 1
        configuration.retrySkip = retries.1
        configuration.udpIdleTimeout = .seconds(
            Int64(try FlagValue.integer(self.udpIdleTimeout, flag: "--udp-idle-timeout", in: 1...86_400, unit: " s"))
        )
        let budget = self.budget.trimmingSpaces()
        if budget.lowercased() == "auto" {
            configuration.scalesBudget = true
        } else {
            guard Int(budget) != nil else {
                throw ConfigurationError(flag: "--budget", "\"\(self.budget)\" is neither auto nor a whole number of payloads")
            }
            configuration.payloadsPerConnection = try FlagValue.integer(budget, flag: "--budget", in: 1...1_000_000)
            configuration.scalesBudget = false
        }
        configuration.windowBytes = try FlagValue.byteCount(self.window, flag: "--window", in: 2...(1 << 30))
        configuration.maxSessions = try FlagValue.integer(self.maxSessions, flag: "--max-sessions", in: 1...100_000)
        configuration.typeOfService = try FlagValue.integer(self.tos, flag: "--tos", in: 0...255)
        if let maxConns = self.maxConns {
            let value = try FlagValue.integer(maxConns, flag: "--max-conns", in: 1...1_000_000)
            configuration.maxConnectionsPerClient = value
            configuration.poolMaximum = min(value, 1024)
        }
        configuration.maxPendingHellos = try FlagValue.integer(self.maxHandshakes, flag: "--max-handshakes", in: 1...1_000_000)
        configuration.maxClients = try FlagValue.integer(self.maxClients, flag: "--max-clients", in: 1...100_000)
        configuration.maxBufferBytes = try FlagValue.byteCount(self.maxBuffer, flag: "--max-buffer", in: 1...(1 << 50))
        configuration.dialTimeout = .milliseconds(Int64(try Self.milliseconds(self.dialTimeout, flag: "--dial-timeout", minimum: 1)))
        configuration.helloTimeout = .milliseconds(Int64(try Self.milliseconds(self.helloTimeout, flag: "--hello-timeout", minimum: 1)))
        configuration.idleTimeout = .milliseconds(Int64(try Self.milliseconds(self.idleTimeout, flag: "--idle-timeout", minimum: 1)))
        configuration.stallTimeout = .milliseconds(Int64(try Self.milliseconds(self.stallTimeout, flag: "--stall-timeout", minimum: 1)))
        return configuration
    }

    private static func milliseconds(_ value: String, flag: String, minimum: Int = 0) throws(ConfigurationError) -> Int {
        try FlagValue.integer(value, flag: flag, in: minimum...86_400_000, unit: " ms")
    }
}
