import ArgumentParser
import TCSplitterCore

/// `tcsplitter`: the role follows from the addresses set, as in the original; `client` and
/// `server` name it explicitly; `echo` and `probe` are small tools for demos and checks.
@main
struct TCSplitterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcsplitter",
        abstract: "Split one TCP stream over many short-lived TCP connections, and join it again.",
        discussion: """
            The client end accepts local connections on --listen; the server end forwards each to \
            --forward. Between them every stream is cut into payloads (--frags) carried by a pool \
            of --conns fling connections, each replaced after --budget payloads, plus one sync \
            connection for control. All connections are dialed by the client.

            The role follows from the addresses set: --rFling (+ --rSync, by default the --rFling \
            host's port 10902) makes a client, --lFling + --lSync + --forward a server. `tcsplitter client ...` and \
            `tcsplitter server ...` say it explicitly.

            Memory: each session holds at most 2 x --window bytes per end (sending + receiving), \
            so at most --max-sessions x 2 x --window in all.

            Times are milliseconds. The defaults serve every kind of traffic: the clocks (--tick, \
            --tock, --buffer) make bytes wait only while waiting can merge them (--clocks), and \
            lost payloads are resent (--retries). The client's tuning travels in its hello and the \
            server follows it; --frags, --fec, --protocol and --key must match on both ends.

            Example (one machine; --rSync defaults to the --rFling host, port 10902):
              tcsplitter server --lFling 127.0.0.1:10900 \\
                --lSync 127.0.0.1:10902 --forward 127.0.0.1:22
              tcsplitter client --listen 127.0.0.1:6000 \\
                --rFling 127.0.0.1:10900
              ssh -p 6000 localhost
            """,
        version: TCSplitterVersion.current,
        subcommands: [
            RunCommand.self, ClientCommand.self, ServerCommand.self, EchoCommand.self, ProbeCommand.self,
            ChaosProxyCommand.self, UDPEchoCommand.self, UDPProbeCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )

    /// Parses and runs as usual, except that the bare `tcsplitter --help` prints every tunnel flag
    /// (the default subcommand's help) and then the subcommands, rather than only the latter.
    static func main() async {
        MallocTuning.apply()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"] {
            print(Self.helpMessage(for: RunCommand.self))
            print(
                """

                SUBCOMMANDS:
                  run (default)           Run the end the addresses imply (the flags above).
                  client                  Run the client end (same flags).
                  server                  Run the server end (same flags).
                  echo                    A TCP echo service, for demos and checks.
                  probe                   Send random bytes through an echo path and verify them (SHA-256).
                  chaos-proxy             Relay TCP, resetting a share of connections (fault injection).
                  udp-echo                A UDP echo service, for demos and checks.
                  udp-probe               Send datagrams through a UDP echo path and verify them.

                  See 'tcsplitter help <subcommand>' for a subcommand's own flags.
                """
            )
            if arguments.isEmpty {
                FileHandleOutput.standardError(
                    "tcsplitter: nothing to run: set --rFling and --rSync for a client, or --lFling, --lSync and --forward for a server\n"
                )
                Self.exit(withError: ExitCode(2))
            }
            return
        }
        var command: ParsableCommand
        do {
            command = try Self.parseAsRoot(arguments)
        } catch {
            Self.exitRefusingCommandLine(error)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}

/// A command that runs a tunnel end: its flags come in the groups `--help` shows. Each command
/// declares the groups itself, so `help client` hides the server's and `help server` the client's
/// (they are still accepted: the original took every flag in one place).
protocol TunnelEndCommand {
    var client: ClientOptions { get }
    var server: ServerOptions { get }
    var tuning: TuningOptions { get }
    var reliability: ReliabilityOptions { get }
    var security: SecurityOptions { get }
    var limits: LimitOptions { get }
}

extension TunnelEndCommand {
    /// Every tunnel flag of this command.
    var options: TunnelOptions {
        TunnelOptions(
            client: self.client, server: self.server, tuning: self.tuning, reliability: self.reliability,
            security: self.security, limits: self.limits)
    }
}

/// `tcsplitter [run] --rFling … | --lFling …`: the original's way, the role inferred from the
/// addresses set. The default subcommand, so `tcsplitter --rFling …` works as before.
struct RunCommand: AsyncParsableCommand, TunnelEndCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run the end the addresses imply: --rFling (+ --rSync) a client, --lFling + --lSync + --forward a server.",
        discussion: TCSplitterCommand.configuration.discussion
    )

    @OptionGroup(title: "Client: addresses and pool") var client: ClientOptions
    @OptionGroup(title: "Server: addresses and admission") var server: ServerOptions
    @OptionGroup(title: "Tuning") var tuning: TuningOptions
    @OptionGroup(title: "Reliability") var reliability: ReliabilityOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Limits") var limits: LimitOptions
    @OptionGroup(title: "Service") var service: ServiceOptions

    func run() async throws {
        let role: Role
        do {
            role = try self.options.inferredRole()
        } catch {
            throw TunnelRunner.fail(error)
        }
        try await TunnelRunner.run(options: self.options, service: self.service, role: role)
    }
}

/// `tcsplitter client`: run the client end.
struct ClientCommand: AsyncParsableCommand, TunnelEndCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Run the client end: accept local connections on --listen and tunnel them to the server."
    )

    @OptionGroup(title: "Client: addresses and pool") var client: ClientOptions
    @OptionGroup(title: "Server", visibility: .hidden) var server: ServerOptions
    @OptionGroup(title: "Tuning") var tuning: TuningOptions
    @OptionGroup(title: "Reliability") var reliability: ReliabilityOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Limits") var limits: LimitOptions
    @OptionGroup(title: "Service") var service: ServiceOptions

    func run() async throws {
        try await TunnelRunner.run(options: self.options, service: self.service, role: .client)
    }
}

/// `tcsplitter server`: run the server end.
struct ServerCommand: AsyncParsableCommand, TunnelEndCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the server end: accept the client's connections and forward each session to --forward."
    )

    @OptionGroup(title: "Client", visibility: .hidden) var client: ClientOptions
    @OptionGroup(title: "Server: addresses and admission") var server: ServerOptions
    @OptionGroup(title: "Tuning") var tuning: TuningOptions
    @OptionGroup(title: "Reliability") var reliability: ReliabilityOptions
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Limits") var limits: LimitOptions
    @OptionGroup(title: "Service") var service: ServiceOptions

    func run() async throws {
        try await TunnelRunner.run(options: self.options, service: self.service, role: .server)
    }
}
