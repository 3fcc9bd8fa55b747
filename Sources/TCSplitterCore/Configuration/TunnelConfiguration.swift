import NIOCore

/// Everything one end of the tunnel needs to run, with the original's code defaults.
///
/// Built by the command line (or by tests) and checked by `validate()`, which names the flag at
/// fault. Memory bound per session and end: at most `windowBytes` being sent plus `windowBytes`
/// being received, so `maxSessions × 2 × windowBytes` in all.
public struct TunnelConfiguration: Hashable, Sendable {
    /// Which end this is.
    public var role: Role
    /// Client: where local applications connect (`--listen`).
    public var listen: EndpointAddress? = EndpointAddress(host: "127.0.0.1", port: 6000)
    /// Server: the service each session is forwarded to (`--forward`); required unless the server
    /// only serves transparent clients (`--allow`).
    public var forward: EndpointAddress? = nil
    /// Client: the server's data-connection address (`--rFling`).
    public var remoteFling: EndpointAddress? = nil
    /// Server: where data connections are accepted (`--lFling`).
    public var localFling: EndpointAddress? = nil
    /// Client: the server's sync address (`--rSync`; the command line defaults it to the
    /// `--rFling` host with port `defaultSyncPort`).
    public var remoteSync: EndpointAddress? = nil
    /// The sync port `--rSync` defaults to (the scripts' `TCS_SYNC_PORT`).
    public static let defaultSyncPort = 10902
    /// Server: where sync connections are accepted (`--lSync`).
    public var localSync: EndpointAddress? = nil
    /// Client: the server's lasso address (`--rLasso`).
    public var remoteLasso: EndpointAddress? = nil
    /// Server: where lasso connections are accepted (`--lLasso`).
    public var localLasso: EndpointAddress? = nil
    /// Pre-dialed data connections kept by the client (`--conns`); with `autoConnections`, the
    /// pool's size at start and after idle.
    public var connections: Int = 4
    /// `--conns auto` (the default): the client sizes its pool to what it delivers
    /// (`PoolSizer`), from `connections` up to `poolMaximum`; `--conns N` fixes it.
    public var autoConnections: Bool = true
    /// Client: the most connections `--conns auto` grows a pool to (`--max-conns`).
    public var poolMaximum: Int = 64
    /// Pre-dialed lasso connections kept by the client (`--lassoes`); 0 with a dup mode that uses
    /// them means as many as `connections` (see `effectiveLassoes`).
    public var lassoes: Int = 0

    /// The lasso connections the client keeps: none in fling mode, else `--lassoes` or, when that
    /// is 0, as many as `--conns`.
    public var effectiveLassoes: Int {
        guard self.dup.usesLassoes else { return 0 }
        return self.lassoes > 0 ? self.lassoes : self.connections
    }

    /// Where the client dials lasso connections: `--rLasso`, or the fling address (the server
    /// tells the kinds apart by their hellos, so one port can take both).
    public var lassoTarget: EndpointAddress? { self.remoteLasso ?? self.remoteFling }
    /// Bytes of stream data per payload (`--frags` first half).
    public var payloadBytes: Int = 10000
    /// The original's mtu (`--frags` second half); accepted and checked, not used.
    public var mtuBytes: Int = 1250
    /// How often the local socket is read once drained (`--tick`); zero: event-driven.
    public var tickInterval: TimeAmount = .milliseconds(50)
    /// How long a partial payload waits for more bytes (`--tock`); zero: sent at once.
    public var tockInterval: TimeAmount = .milliseconds(250)
    /// `--clocks adaptive` (the default): tick, tock and a prefill-less buffer wait only while the
    /// session has bytes in flight, so a request alone goes at once (Nagle's rule; see
    /// `TickTockScheduler`). `fixed` (`--mode stealth`): the original's clocks, always.
    public var adaptiveClocks: Bool = true
    /// The forwarder's release interval (`--buffer` first half); zero: at once.
    public var bufferInterval: TimeAmount = .milliseconds(250)
    /// Payloads the forwarder holds before its first release (`--buffer` second half).
    public var bufferPayloads: Int = 0
    /// Delay before the rest of the pool is dialed (`--after`).
    public var rampDelay: TimeAmount = .zero
    /// FEC data shards per group (`--fec` first half); zero: FEC off.
    public var fecDataShards: Int = 0
    /// FEC parity shards per group (`--fec` second half).
    public var fecParityShards: Int = 0
    /// Whether lost payloads are resent (`--retries` first half; on by default for TCP, so a
    /// reset connection never costs a session).
    public var retries: Bool = true
    /// Misses after which the receiver skips lost bytes; -1 never (`--retries` second half).
    public var retrySkip: Int = -1
    /// Client: read each local connection's original destination (REDIRECT / TPROXY) and have the
    /// server dial it (`--transparent`).
    public var transparent: Bool = false
    /// Server: the destinations transparent clients may have it dial (`--allow`); none: never.
    public var allowRules: [AllowRule] = []

    /// Whether the server may dial `destination` for a transparent client.
    public func admits(_ destination: SessionDestination) -> Bool {
        self.allowRules.contains { $0.admits(destination) }
    }

    /// Which connections carry which direction (`--dup`).
    public var dup: DupMode = .fling
    /// What the local application speaks (`--protocol`).
    public var localProtocol: LocalProtocol = .tcp
    /// Payloads one data connection carries each way before it is replaced (`--budget`); with
    /// `scalesBudget`, the budget at factor 1.
    public var payloadsPerConnection: Int = 64
    /// `--budget auto` (the default): each end scales the budget of its new connections to how fast
    /// they are spent (`ConnectionBudgetScaler`); `--budget N` is exact.
    public var scalesBudget: Bool = true

    /// Whether budgets scale: with `--budget auto`, never with a `--budget N`, nor with a budget
    /// of 1 (the original's one payload per connection) however it was set.
    public var budgetScales: Bool { self.scalesBudget && self.payloadsPerConnection > 1 }

    /// The budget scaler of one link (`budgetScales`).
    public func makeBudgetScaler() -> ConnectionBudgetScaler {
        ConnectionBudgetScaler(
            baseBudget: self.payloadsPerConnection,
            minimumLifetime: self.budgetScales ? ConnectionBudgetScaler.defaultMinimumLifetime : .zero
        )
    }
    /// Bytes per session and direction buffered or in flight (`--window`); with `autoWindow`,
    /// the window on a short path, and the least on any.
    public var windowBytes: Int = 4 << 20
    /// `--window auto` (the default): the client gives each session a window that follows the
    /// path's round trip (`sessionWindow(roundTrip:)`), declared in its open; a size fixes it.
    public var autoWindow: Bool = true
    /// The largest window `--window auto` gives a session.
    public static let maxAutoWindowBytes = 32 << 20
    /// The round trip up to which `--window auto` keeps `windowBytes`; it grows in proportion
    /// beyond it (a window covers a few round trips of a fast path, plus the bytes that wait
    /// behind a payload lost on one of many connections, which a retransmission timeout of at
    /// least 200 ms can hold on any path: 25 ms here gave a 50 ms, 0.5% loss path 8 MiB and
    /// 38-46 Mbit/s of 50; 12.5 ms gives it 16 MiB and 44-46).
    public static let autoWindowRoundTrip: TimeAmount = .microseconds(12_500)

    /// The window of a new session on a path whose round trip is `roundTrip` (nil: not known
    /// yet): `windowBytes`, or with `autoWindow` that times round trip / 12.5 ms, up to 32 MiB.
    public func sessionWindow(roundTrip: TimeAmount?) -> Int {
        guard self.autoWindow, let roundTrip, roundTrip > Self.autoWindowRoundTrip else { return self.windowBytes }
        let scaled =
            Double(self.windowBytes) * Double(roundTrip.nanoseconds) / Double(Self.autoWindowRoundTrip.nanoseconds)
        return max(self.windowBytes, min(max(self.windowBytes, Self.maxAutoWindowBytes), Int(scaled)))
    }
    /// Sessions open at once per end (`--max-sessions`).
    public var maxSessions: Int = 1024
    /// Data connections one client end may hold on the server (`--max-conns`).
    public var maxConnectionsPerClient: Int = 1024
    /// Connections still in their hello exchange, at most, on the server (`--max-handshakes`).
    public var maxPendingHellos: Int = 256
    /// Client ends (by the id in their hellos) the server serves at once (`--max-clients`).
    public var maxClients: Int = 64
    /// Bytes all sessions of an end may buffer in the worst case (`--max-buffer`): a session is
    /// admitted only while sessions × 2 × window fits.
    public var maxBufferBytes: Int = 8 << 30

    /// Sessions admitted at once: `--max-sessions`, and no more than `--max-buffer` allows.
    public var effectiveMaxSessions: Int {
        max(1, min(self.maxSessions, self.maxBufferBytes / max(1, 2 * self.windowBytes)))
    }

    /// TCP congestion control of the tunnel's own connections (`--congestion`); `nil`: the system's.
    /// With `autoCongestion` the command line resolves it at start (`CongestionChoice`).
    public var congestionControl: String? = nil
    /// `--congestion auto` (the default): bbr where the kernel allows it, else the system's.
    public var autoCongestion: Bool = true

    /// IP type-of-service byte on tunnel connections (`--tos`); 0xB8 is DSCP EF; 0 leaves it.
    public var typeOfService: Int = 0xB8
    /// Limit on a dial of the server or of `--forward` (`--dial-timeout`).
    public var dialTimeout: TimeAmount = .seconds(5)
    /// Limit on the hello exchange of a new connection (`--hello-timeout`).
    public var helloTimeout: TimeAmount = .seconds(5)
    /// A data connection idle this long is replaced (`--idle-timeout`).
    public var idleTimeout: TimeAmount = .seconds(30)
    /// Bytes missing this long end the session with an error (`--stall-timeout`).
    public var stallTimeout: TimeAmount = .seconds(30)
    /// UDP: a session with no datagram either way for this long ends (`--udp-idle-timeout`).
    public var udpIdleTimeout: TimeAmount = .seconds(60)
    /// How often each end checks retries, stalls, keepalives and idle connections (UDP skips
    /// lost bytes from here, so it checks as often as retries do).
    public var housekeepingInterval: TimeAmount {
        self.retries || self.localProtocol == .udp ? .milliseconds(20) : .milliseconds(250)
    }
    /// Interval of sync keepalives; a sync connection silent for 3 of them is dropped.
    public var keepaliveInterval: TimeAmount = .seconds(5)

    /// A configuration with the original's defaults for `role`.
    public init(role: Role) {
        self.role = role
    }

    /// The budget of one new data connection: `baseBudget` (by default `payloadsPerConnection`)
    /// ± 25%, drawn at random, so connections opened together do not all retire (and empty the
    /// pool) together. A budget of 1 (the original's behaviour) stays 1.
    public func connectionBudget<G: RandomNumberGenerator>(baseBudget: Int? = nil, using generator: inout G) -> Int {
        let base = baseBudget ?? self.payloadsPerConnection
        let spread = base / 4
        guard spread > 0 else { return base }
        return base + Int.random(in: -spread...spread, using: &generator)
    }

    /// The decoder limits this configuration implies: payloads of up to `--frags` bytes, or up to
    /// `largePayloadBytes` without FEC (the peer may cut large payloads, `largeCutBytes`).
    public var frameLimits: FrameLimits {
        FrameLimits(
            maxPayloadBytes: self.fecDataShards > 0 ? self.payloadBytes : max(self.payloadBytes, Self.largePayloadBytes)
        )
    }

    /// The largest payload a sender cuts on a fast or long path (`largeCutBytes(largePayloadsPay:)`).
    public static let largePayloadBytes = 65536

    /// What `SendStream.largeCutBytes` should be: `largePayloadBytes` while the link's budget
    /// scaler says large payloads pay (`ConnectionBudgetScaler.takesLargePayloads`: a fast path or
    /// a long one), 0 (payloads of `--frags` bytes) otherwise, and always 0 where payload sizes
    /// matter or were chosen: with FEC (shards of one size), UDP (datagram chunks resynchronise at
    /// payload starts), an exact `--budget` (as with `--mode stealth` and `bulk`), or payloads
    /// already that large (retries resend whole payloads of any size). On a short, slow path
    /// payloads stay at `--frags`: there a payload's bytes are a larger share of what is in flight.
    public func largeCutBytes(largePayloadsPay: Bool) -> Int {
        guard self.budgetScales, self.fecDataShards == 0,
            self.localProtocol == .tcp, self.payloadBytes < Self.largePayloadBytes, largePayloadsPay
        else { return 0 }
        return Self.largePayloadBytes
    }

    /// Checks every rule, naming the flag of the first one broken.
    public func validate() throws(ConfigurationError) {
        switch self.role {
        case .client:
            guard self.listen != nil else { throw ConfigurationError(flag: "--listen", "the client needs an address") }
            guard self.remoteFling != nil else {
                throw ConfigurationError(flag: "--rFling", "the client needs the server's fling address")
            }
            guard self.remoteSync != nil else {
                throw ConfigurationError(flag: "--rSync", "the client needs the server's sync address")
            }
            for (flag, address) in [
                ("--rFling", self.remoteFling), ("--rSync", self.remoteSync), ("--rLasso", self.remoteLasso),
            ] {
                if let address, address.port == 0 {
                    throw ConfigurationError(flag: flag, "port 0 cannot be dialed")
                }
            }
            if !self.allowRules.isEmpty {
                throw ConfigurationError(
                    flag: "--allow", "only the server end dials destinations; give --allow to the server")
            }
            if !self.dup.usesLassoes {
                if self.lassoes > 0 {
                    throw ConfigurationError(
                        flag: "--lassoes",
                        "fling mode has no lasso connections; use --dup lasso, both or none (or --lassoes 0)")
                }
                if self.remoteLasso != nil {
                    throw ConfigurationError(
                        flag: "--rLasso",
                        "fling mode has no lasso connections; use --dup lasso, both or none (or --rLasso 0)")
                }
            }
        case .server:
            guard self.localFling != nil else {
                throw ConfigurationError(flag: "--lFling", "the server needs an address to accept data connections on")
            }
            guard self.localSync != nil else {
                throw ConfigurationError(flag: "--lSync", "the server needs an address to accept sync connections on")
            }
            if let forward = self.forward {
                guard forward.port != 0 else { throw ConfigurationError(flag: "--forward", "port 0 cannot be dialed") }
            } else if self.allowRules.isEmpty {
                throw ConfigurationError(
                    flag: "--forward",
                    "the server needs the address of the service to forward sessions to (host:port), or --allow rules for transparent clients"
                )
            }
            if self.transparent {
                throw ConfigurationError(flag: "--transparent", "is for the client end (the server takes --allow)")
            }
        }
        guard (1...1024).contains(self.connections) else {
            throw ConfigurationError(flag: "--conns", "\(self.connections) is out of range 1...1024")
        }
        guard (0...1024).contains(self.lassoes) else {
            throw ConfigurationError(flag: "--lassoes", "\(self.lassoes) is out of range 0...1024")
        }
        guard (1...WireConstants.maxPayloadBytes).contains(self.payloadBytes) else {
            throw ConfigurationError(
                flag: "--frags", "payload \(self.payloadBytes) is out of range 1...\(WireConstants.maxPayloadBytes)")
        }
        guard self.windowBytes >= 2 * self.payloadBytes else {
            throw ConfigurationError(
                flag: "--window", "\(self.windowBytes) bytes must hold at least two payloads (\(2 * self.payloadBytes))"
            )
        }
        // The jitter buffer's bytes are delivered but not consumed, so they hold the receive window:
        // past half of it (the buffer's high water) the peer would stop before the prefill completes.
        guard self.bufferPayloads >= 0, self.bufferPayloads <= self.windowBytes / 2 / self.payloadBytes else {
            throw ConfigurationError(
                flag: "--buffer",
                "\(self.bufferPayloads) payloads must be from 0 to \(self.windowBytes / 2 / self.payloadBytes) (half the window)"
            )
        }
        guard self.maxBufferBytes >= 2 * self.windowBytes else {
            throw ConfigurationError(
                flag: "--max-buffer",
                "\(self.maxBufferBytes) bytes cannot hold one session (2 x --window = \(2 * self.windowBytes))"
            )
        }
        guard self.payloadsPerConnection >= 1 else {
            throw ConfigurationError(flag: "--budget", "must be at least 1 payload per connection")
        }
        if self.fecDataShards > 0 {
            guard self.fecDataShards + self.fecParityShards <= 255 else {
                throw ConfigurationError(flag: "--fec", "data + parity must be at most 255")
            }
        }
        if let name = self.congestionControl {
            let allowed = name.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D
            }
            guard (1...15).contains(name.utf8.count), allowed else {
                throw ConfigurationError(
                    flag: "--congestion",
                    "\"\(name)\" is not a congestion control name (1-15 of a-z, 0-9, _ and -, e.g. bbr, cubic)")
            }
        }
        if self.localProtocol == .udp { try self.validateUDP() }
        if self.transparent && self.localProtocol != .tcp {
            throw ConfigurationError(
                flag: "--transparent", "redirects TCP connections; it does not work with --protocol udp")
        }
    }
}
