import ArgumentParser
import NIOCore
import TCSplitterCore

/// Every tunnel flag, with the original's spellings (`--rFling`, `a:b` pairs, `0` = off) and code
/// defaults, in the groups `--help` shows them in (`Options/`). Values are kept as text and parsed
/// by Core's parsers, so every error names its flag.
struct TunnelOptions {
    /// Client addresses and pool.
    var client: ClientOptions
    /// Server addresses and admission.
    var server: ServerOptions
    /// Clocks, payloads, budget, window, protocol, congestion control.
    var tuning: TuningOptions
    /// FEC, retries and timeouts.
    var reliability: ReliabilityOptions
    /// The pre-shared key.
    var security: SecurityOptions
    /// Sessions, connections and memory.
    var limits: LimitOptions

    /// The role the set addresses imply, as the original inferred it.
    func inferredRole() throws(ConfigurationError) -> Role {
        let client = try EndpointAddress.parse(self.client.rFling, flag: "--rFling") != nil
        let localFling = try EndpointAddress.parse(self.server.lFling, flag: "--lFling")
        let localSync = try EndpointAddress.parse(self.server.lSync, flag: "--lSync")
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
    func configuration(
        role: Role, arguments: [String] = CommandLine.arguments
    ) throws(ConfigurationError) -> TunnelConfiguration {
        let configuration = try self.withPreset(arguments: arguments).parsedValues(role: role)
        try configuration.validate()
        return configuration
    }

    /// These options with `--mode`'s values filled in where `arguments` set no value of their own.
    func withPreset(arguments: [String]) throws(ConfigurationError) -> TunnelOptions {
        guard let name = self.tuning.mode else { return self }
        guard let preset = ModePreset(rawValue: name.lowercased()) else {
            throw ConfigurationError(
                flag: "--mode",
                "\"\(name)\" is not one of \(ModePreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = self
        for (flag, value) in preset.flags(notSetIn: arguments) {
            switch flag {
            case "--budget": options.tuning.budget = value
            case "--tick": options.tuning.tick = value
            case "--tock": options.tuning.tock = value
            case "--buffer": options.tuning.buffer = value
            case "--frags": options.tuning.frags = value
            case "--window": options.tuning.window = value
            case "--conns": options.client.conns = value
            case "--congestion": options.tuning.congestion = value
            case "--dup": options.client.dup = value
            case "--fec": options.reliability.fec = value
            case "--clocks": options.tuning.clocks = value
            default: break
            }
        }
        return options
    }

    /// Every flag value parsed (each error names its flag), before the rules between flags.
    func parsedValues(role: Role) throws(ConfigurationError) -> TunnelConfiguration {
        var configuration = TunnelConfiguration(role: role)
        configuration.listen = try EndpointAddress.parse(self.client.listen, flag: "--listen")
        configuration.forward = try self.server.forward.flatMap { value throws(ConfigurationError) in
            try EndpointAddress.parse(value, flag: "--forward")
        }
        configuration.remoteFling = try EndpointAddress.parse(self.client.rFling, flag: "--rFling")
        configuration.localFling = try EndpointAddress.parse(self.server.lFling, flag: "--lFling")
        if let rSync = self.client.rSync {
            configuration.remoteSync = try EndpointAddress.parse(rSync, flag: "--rSync")
        } else if let fling = configuration.remoteFling {
            configuration.remoteSync = EndpointAddress(host: fling.host, port: TunnelConfiguration.defaultSyncPort)
        }
        configuration.localSync = try EndpointAddress.parse(self.server.lSync, flag: "--lSync")
        configuration.remoteLasso = try EndpointAddress.parse(self.client.rLasso, flag: "--rLasso")
        configuration.localLasso = try EndpointAddress.parse(self.server.lLasso, flag: "--lLasso")
        _ = try EndpointAddress.parse(self.client.rFlingR, flag: "--rFlingR")
        _ = try EndpointAddress.parse(self.server.lFlingR, flag: "--lFlingR")
        if self.client.conns.trimmingSpaces().lowercased() == "auto" {
            configuration.autoConnections = true
        } else {
            guard Int(self.client.conns.trimmingSpaces()) != nil else {
                throw ConfigurationError(
                    flag: "--conns", "\"\(self.client.conns)\" is neither auto nor a whole number of connections")
            }
            configuration.connections = try FlagValue.integer(self.client.conns, flag: "--conns", in: 1...1024)
            configuration.autoConnections = false
        }
        configuration.lassoes = try FlagValue.integer(self.client.lassoes, flag: "--lassoes", in: 0...1024)
        let frags = try FlagValue.pair(
            self.tuning.frags, flag: "--frags", shape: "payload:mtu",
            first: 1...WireConstants.maxPayloadBytes, second: 0...65535, defaultSecond: 1250
        )
        configuration.payloadBytes = frags.0
        configuration.mtuBytes = frags.1
        configuration.tickInterval = .milliseconds(Int64(try Self.milliseconds(self.tuning.tick, flag: "--tick")))
        configuration.tockInterval = .milliseconds(Int64(try Self.milliseconds(self.tuning.tock, flag: "--tock")))
        let buffer = try FlagValue.pair(
            self.tuning.buffer, flag: "--buffer", shape: "ms:count",
            first: 0...3_600_000, second: 0...100_000, defaultSecond: 0
        )
        configuration.bufferInterval = .milliseconds(Int64(buffer.0))
        configuration.bufferPayloads = buffer.1
        configuration.rampDelay = .milliseconds(Int64(try Self.milliseconds(self.client.after, flag: "--after")))
        let fec = try FlagValue.pair(
            self.reliability.fec, flag: "--fec", shape: "data:parity", first: 0...255, second: 0...255, defaultSecond: 0
        )
        configuration.fecDataShards = fec.0
        configuration.fecParityShards = fec.1
        switch self.tuning.clocks.lowercased() {
        case "adaptive": configuration.adaptiveClocks = true
        case "fixed": configuration.adaptiveClocks = false
        default: throw ConfigurationError(flag: "--clocks", "\"\(self.tuning.clocks)\" is not adaptive or fixed")
        }
        guard let dup = DupMode(rawValue: self.client.dup.lowercased()) else {
            throw ConfigurationError(flag: "--dup", "\"\(self.client.dup)\" is not one of fling, lasso, both, none")
        }
        configuration.dup = dup
        configuration.transparent = self.client.transparent
        let congestion = self.tuning.congestion.trimmingSpaces().lowercased()
        configuration.autoCongestion = congestion == "auto"
        configuration.congestionControl = congestion == "auto" ? nil : congestion
        configuration.allowRules = try self.server.allow.map { value throws(ConfigurationError) in
            try AllowRule.parse(value)
        }
        guard let localProtocol = LocalProtocol(rawValue: self.tuning.localProtocol.lowercased()) else {
            throw ConfigurationError(flag: "--protocol", "\"\(self.tuning.localProtocol)\" is not tcp or udp")
        }
        configuration.localProtocol = localProtocol
        // Reliable by default for a byte stream; a datagram flow keeps going past a loss.
        let retries = try FlagValue.pair(
            self.reliability.retries ?? (localProtocol == .tcp ? "1:-1" : "0:-1"), flag: "--retries", shape: "on:skip",
            first: 0...1, second: -1...1_000_000, defaultSecond: -1
        )
        configuration.retries = retries.0 == 1
        configuration.retrySkip = retries.1
        configuration.udpIdleTimeout = .seconds(
            Int64(
                try FlagValue.integer(
                    self.tuning.udpIdleTimeout, flag: "--udp-idle-timeout", in: 1...86_400, unit: " s"))
        )
        let budget = self.tuning.budget.trimmingSpaces()
        if budget.lowercased() == "auto" {
            configuration.scalesBudget = true
        } else {
            guard Int(budget) != nil else {
                throw ConfigurationError(
                    flag: "--budget", "\"\(self.tuning.budget)\" is neither auto nor a whole number of payloads")
            }
            configuration.payloadsPerConnection = try FlagValue.integer(budget, flag: "--budget", in: 1...1_000_000)
            configuration.scalesBudget = false
        }
        if self.tuning.window.trimmingSpaces().lowercased() == "auto" {
            configuration.autoWindow = true
        } else {
            configuration.windowBytes = try FlagValue.byteCount(self.tuning.window, flag: "--window", in: 2...(1 << 30))
            configuration.autoWindow = false
        }
        configuration.maxSessions = try FlagValue.integer(
            self.limits.maxSessions, flag: "--max-sessions", in: 1...100_000)
        configuration.typeOfService = try FlagValue.integer(self.tuning.tos, flag: "--tos", in: 0...255)
        if let maxConns = self.limits.maxConns {
            let value = try FlagValue.integer(maxConns, flag: "--max-conns", in: 1...1_000_000)
            configuration.maxConnectionsPerClient = value
            configuration.poolMaximum = min(value, 1024)
        }
        configuration.maxPendingHellos = try FlagValue.integer(
            self.server.maxHandshakes, flag: "--max-handshakes", in: 1...1_000_000)
        configuration.maxClients = try FlagValue.integer(self.server.maxClients, flag: "--max-clients", in: 1...100_000)
        configuration.maxBufferBytes = try FlagValue.byteCount(
            self.limits.maxBuffer, flag: "--max-buffer", in: 1...(1 << 50))
        configuration.dialTimeout = .milliseconds(
            Int64(try Self.milliseconds(self.reliability.dialTimeout, flag: "--dial-timeout", minimum: 1)))
        configuration.helloTimeout = .milliseconds(
            Int64(try Self.milliseconds(self.reliability.helloTimeout, flag: "--hello-timeout", minimum: 1)))
        configuration.idleTimeout = .milliseconds(
            Int64(try Self.milliseconds(self.reliability.idleTimeout, flag: "--idle-timeout", minimum: 1)))
        configuration.stallTimeout = .milliseconds(
            Int64(try Self.milliseconds(self.reliability.stallTimeout, flag: "--stall-timeout", minimum: 1)))
        return configuration
    }

    private static func milliseconds(_ value: String, flag: String, minimum: Int = 0) throws(ConfigurationError) -> Int
    {
        try FlagValue.integer(value, flag: flag, in: minimum...86_400_000, unit: " ms")
    }
}
