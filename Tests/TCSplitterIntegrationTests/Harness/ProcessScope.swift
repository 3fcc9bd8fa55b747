import Foundation
import Testing

/// The processes one test started. `withProcesses` stops them all when the test body ends, by
/// PID, whether it passed, failed or threw, and checks they stopped cleanly (SIGTERM → exit 0).
final class ProcessScope {
    /// Every process started in this scope, in order.
    private(set) var processes: [SplitterProcess] = []

    /// Starts `tcsplitter arguments...` as part of this scope, inside network namespace
    /// `namespace` when one is given.
    func launch(_ name: String, _ arguments: [String], inNamespace namespace: String? = nil) throws -> SplitterProcess {
        let launcher = namespace.map { [NetworkNamespaces.ipCommand, "netns", "exec", $0] } ?? []
        let process = try SplitterProcess(name: name, arguments: arguments, launcher: launcher)
        self.processes.append(process)
        return process
    }

    /// Takes a process that already ended (one whose exit status the test checked itself) out of
    /// the scope's clean-stop check.
    func release(_ process: SplitterProcess) {
        guard process.ended != nil else { return }
        self.processes.removeAll { $0 === process }
    }

    /// Starts a server end forwarding to `127.0.0.1:forwardPort`, on free loopback ports unless
    /// `flingPort`/`syncPort` are given, and awaits its ready line.
    func startServer(
        forwardPort: Int,
        flingPort: Int = 0,
        syncPort: Int = 0,
        flags: [String] = []
    ) async throws -> ServerEnd {
        let process = try self.launch(
            "server",
            [
                "server", "--lFling", "127.0.0.1:\(flingPort)", "--lSync", "127.0.0.1:\(syncPort)",
                "--forward", "127.0.0.1:\(forwardPort)",
            ] + flags
        )
        let fields = try await process.ready()
        return ServerEnd(
            process: process,
            flingPort: try SplitterProcess.port("fling", in: fields),
            syncPort: try SplitterProcess.port("sync", in: fields)
        )
    }

    /// Starts a client end dialing the server on loopback, and awaits its ready line.
    func startClient(flingPort: Int, syncPort: Int, flags: [String] = []) async throws -> ClientEnd {
        let process = try self.launch(
            "client",
            [
                "client", "--listen", "127.0.0.1:0", "--rFling", "127.0.0.1:\(flingPort)",
                "--rSync", "127.0.0.1:\(syncPort)",
            ] + flags
        )
        let fields = try await process.ready()
        return ClientEnd(process: process, listenPort: try SplitterProcess.port("listen", in: fields))
    }

    /// A server then a client, both with `flags`, in front of `127.0.0.1:forwardPort`.
    func startTunnel(forwardPort: Int, flags: [String] = []) async throws -> Tunnel {
        let server = try await self.startServer(forwardPort: forwardPort, flags: flags)
        let client = try await self.startClient(flingPort: server.flingPort, syncPort: server.syncPort, flags: flags)
        return Tunnel(server: server, client: client)
    }

    /// The command lines and log tails of every process, for failure messages.
    var diagnostics: String {
        self.processes.map(\.diagnostics).joined(separator: "\n")
    }

    /// Stops every process, last started first. Returns each with how it ended.
    fileprivate func stopAll() async -> [(SplitterProcess, SplitterProcess.Termination?)] {
        var ends: [(SplitterProcess, SplitterProcess.Termination?)] = []
        for process in self.processes.reversed() {
            ends.append((process, await process.stop()))
        }
        return ends
    }
}

/// A running server end and the ports it bound.
struct ServerEnd {
    /// The process.
    var process: SplitterProcess
    /// Where it accepts fling connections.
    var flingPort: Int
    /// Where it accepts the sync connection.
    var syncPort: Int
}

/// A running client end and the port local applications connect to.
struct ClientEnd {
    /// The process.
    var process: SplitterProcess
    /// Its `--listen` port.
    var listenPort: Int
}

/// A client end and the server end it dials.
struct Tunnel {
    /// The server end.
    var server: ServerEnd
    /// The client end.
    var client: ClientEnd
    /// Where applications connect (the client's `--listen`).
    var listenPort: Int { self.client.listenPort }
}

/// Runs `body` with a fresh `ProcessScope`, then stops every process it started (SIGTERM, SIGKILL
/// after 15 s), even when `body` throws. When `body` succeeded and `expectCleanStop` is set, each
/// process must have stopped with exit status 0 (graceful shutdown); when it threw, their logs are
/// printed.
func withProcesses<T>(
    expectCleanStop: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (ProcessScope) async throws -> T
) async throws -> T {
    let scope = ProcessScope()
    let outcome: Result<T, Error>
    do {
        outcome = .success(try await body(scope))
    } catch {
        outcome = .failure(error)
    }
    let ends = await scope.stopAll()
    switch outcome {
    case .success where expectCleanStop:
        for (process, end) in ends {
            #expect(
                end == .exited(0),
                "\(process.name) did not stop cleanly on SIGTERM: \(end.map { "\($0)" } ?? "still running after SIGKILL")\n\(process.diagnostics)",
                sourceLocation: sourceLocation
            )
        }
    case .failure(let error):
        print("test failed: \(error)\n\(scope.diagnostics)")
    case .success:
        break
    }
    return try outcome.get()
}
