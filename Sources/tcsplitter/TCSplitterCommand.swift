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

            The role follows from the addresses set: --rFling (+ --rSync) makes a client, \
            --lFling + --lSync (+ --forward) a server. `tcsplitter client ...` and \
            `tcsplitter server ...` say it explicitly.

            Memory: each session holds at most 2 x --window bytes per end (sending + receiving), \
            so at most --max-sessions x 2 x --window in all.

            Times are milliseconds; 0 for --tick, --tock and --buffer means event-driven (lowest \
            latency). Example (one machine):
              tcsplitter server --lFling 127.0.0.1:10900 --lSync 127.0.0.1:10902 --forward 127.0.0.1:22
              tcsplitter client --listen 127.0.0.1:6000 --rFling 127.0.0.1:10900 --rSync 127.0.0.1:10902
              ssh -p 6000 localhost
            """,
        subcommands: [ClientCommand.self, ServerCommand.self, EchoCommand.self, ProbeCommand.self]
    )

    @OptionGroup var options: TunnelOptions

    func run() async throws {
        let role: Role
        do {
            _ = try self.options.parsedValues(role: .client)  // a bad value is named before the role
            role = try self.options.inferredRole()
        } catch {
            throw TunnelRunner.fail(error)
        }
        try await TunnelRunner.run(options: self.options, role: role)
    }
}

/// `tcsplitter client`: run the client end.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Run the client end: accept local connections on --listen and tunnel them to the server."
    )

    @OptionGroup var options: TunnelOptions

    func run() async throws {
        try await TunnelRunner.run(options: self.options, role: .client)
    }
}

/// `tcsplitter server`: run the server end.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the server end: accept the client's connections and forward each session to --forward."
    )

    @OptionGroup var options: TunnelOptions

    func run() async throws {
        try await TunnelRunner.run(options: self.options, role: .server)
    }
}
