import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension IntegrationTests {
    /// Several server ends behind HAProxy (`utils/deploy/haproxy.cfg`): six network namespaces
    /// (three client hosts, a balancer host running HAProxy with the repository's configuration,
    /// two server hosts each running a server end and an echo service). Every client end dials the
    /// balancer; pinning by source address must keep each client's sync, fling and lasso
    /// connections on one server end, spread the clients over both ends, and, when one end stops,
    /// move only its clients to the other end within the health checks' time. Needs root and
    /// Debian's haproxy; skipped with the reason otherwise.
    @Suite("Server ends behind HAProxy", .serialized)
    struct HAProxyTests {
        static let haproxyCommand = "/usr/sbin/haproxy"
        static let key = ["--key", "haproxy-test-key-0123456789abcdef"]
        static let eventDriven = ["--tick", "0", "--tock", "0", "--buffer", "0"]

        /// Why this test cannot run here, or `nil` when it can.
        static let unavailableReason: String? = {
            if let reason = NetworkNamespaces.unavailableReason { return reason }
            guard FileManager.default.isExecutableFile(atPath: haproxyCommand) else {
                return "needs HAProxy at \(haproxyCommand) (apt-get install haproxy)"
            }
            return nil
        }()

        /// The balancer's address, on its loopback: every client end dials it.
        static let balancer = "198.18.0.1"
        /// The client hosts' addresses (each on its own link to the balancer). Chosen so that
        /// HAProxy's consistent source hash puts clients on both server ends.
        static let clientAddresses = ["198.18.11.2", "198.18.12.2", "198.18.13.2"]
        /// The server hosts' addresses (each on its own link to the balancer).
        static let serverAddresses = ["198.18.21.2", "198.18.22.2"]
        /// The addresses the repository's configuration names its two server ends by.
        static let configuredEnds = ["192.0.2.11", "192.0.2.12"]

        @Test(
            "HAProxy pins each client end to one server end, spreads them over both, and moves only a stopped end's clients",
            .enabled(if: unavailableReason == nil, "\(unavailableReason ?? "")"),
            .timeLimit(.minutes(2))
        )
        func balanced() async throws {
            let spaces = NetworkNamespaces(tag: "hap")
            defer { spaces.removeAll() }
            let balancerHost = try spaces.add("lb")
            try spaces.exec(
                balancerHost, [NetworkNamespaces.ipCommand, "addr", "add", "\(Self.balancer)/32", "dev", "lo"])
            var clientHosts: [String] = []
            for (index, address) in Self.clientAddresses.enumerated() {
                let host = try spaces.add("c\(index + 1)")
                let gateway = Self.gateway(of: address)
                try spaces.link(host, "eth0", "\(address)/24", to: balancerHost, "lan\(index + 1)", "\(gateway)/24")
                try spaces.exec(host, [NetworkNamespaces.ipCommand, "route", "add", "default", "via", gateway])
                clientHosts.append(host)
            }
            var serverHosts: [String] = []
            for (index, address) in Self.serverAddresses.enumerated() {
                let host = try spaces.add("s\(index + 1)")
                try spaces.link(
                    host, "eth0", "\(address)/24", to: balancerHost, "srv\(index + 1)",
                    "\(Self.gateway(of: address))/24")
                serverHosts.append(host)
            }

            try await withProcesses { scope in
                // Two server hosts: an echo service and a server end each, on the configuration's ports.
                var servers: [SplitterProcess] = []
                for (index, host) in serverHosts.enumerated() {
                    let echo = try scope.launch(
                        "echo \(index + 1)", ["echo", "--listen", "127.0.0.1:0"], inNamespace: host)
                    let echoPort = try SplitterProcess.port("listen", in: try await echo.ready())
                    let address = Self.serverAddresses[index]
                    let server = try scope.launch(
                        "server \(index + 1)",
                        [
                            "server", "--lFling", "\(address):10900", "--lSync", "\(address):10902", "--lLasso",
                            "\(address):10901", "--forward", "127.0.0.1:\(echoPort)", "--grace-period", "0",
                        ] + Self.key + Self.eventDriven,
                        inNamespace: host)
                    _ = try await server.ready()
                    servers.append(server)
                }

                // The balancer: the repository's configuration, with this test's addresses.
                let haproxy = try HAProxyProcess(
                    namespace: balancerHost, configuration: try Self.renderedConfiguration())
                defer { haproxy.stop() }

                // Three client hosts, each dialing the balancer (lasso mode: all three ports in use).
                var clients: [SplitterProcess] = []
                var listenPorts: [Int] = []
                for (index, host) in clientHosts.enumerated() {
                    let client = try scope.launch(
                        "client \(index + 1)",
                        [
                            "client", "--listen", "127.0.0.1:0", "--rFling", "\(Self.balancer):10900",
                            "--rSync", "\(Self.balancer):10902", "--rLasso", "\(Self.balancer):10901",
                            "--dup", "lasso", "--lassoes", "2",
                        ] + Self.key + Self.eventDriven,
                        inNamespace: host)
                    listenPorts.append(try SplitterProcess.port("listen", in: try await client.ready()))
                    clients.append(client)
                }
                for client in clients {
                    do {
                        _ = try await client.logLine(containing: "connected to the server", timeout: .seconds(20))
                    } catch {
                        throw HarnessError("\(error)\n--- haproxy\n\(haproxy.output.tail())")
                    }
                }

                // 1. Every client's sessions arrive byte-exact; the server ends' logs say which end
                //    served which client.
                var endOfClient: [Int] = []
                for (index, host) in clientHosts.enumerated() {
                    let before = servers.map { $0.standardError.count(of: "session opened") }
                    try await Self.probe(
                        scope, host, listenPorts[index], bytes: "2MiB", sessions: 2, name: "probe \(index + 1)",
                        haproxy: haproxy)
                    let after = try await Self.sessionCounts(servers, total: before.reduce(0, +) + 2)
                    let gained = zip(after, before).map { $0 - $1 }
                    let end = gained.firstIndex(of: 2)
                    #expect(
                        end != nil,
                        "client \(index + 1)'s 2 sessions were split over the ends: \(gained)\n\(scope.diagnostics)")
                    endOfClient.append(end ?? 0)
                }
                let sessionsPerEnd = servers.map { $0.standardError.count(of: "session opened") }
                let clientsPerEnd = servers.indices.map { end in endOfClient.filter { $0 == end }.count }
                print(
                    "HAProxy: sessions per server end \(sessionsPerEnd), client ends per server end \(clientsPerEnd) (clients 1-3 on ends \(endOfClient.map { $0 + 1 }))"
                )
                try #require(
                    clientsPerEnd.allSatisfy { $0 >= 1 },
                    "the source hash put every client on one end (\(clientsPerEnd)): pick other clientAddresses")

                // 2. Stop one end with a session open on each side of it.
                let victim = 0
                let survivor = 1
                let affected = try #require(endOfClient.firstIndex(of: victim))
                let unaffected = try #require(endOfClient.firstIndex(of: survivor))
                let affectedSession = try await NamespacedConnection.dial(
                    namespace: clientHosts[affected], port: listenPorts[affected])
                defer { affectedSession.hangUp() }
                let unaffectedSession = try await NamespacedConnection.dial(
                    namespace: clientHosts[unaffected], port: listenPorts[unaffected])
                defer { unaffectedSession.hangUp() }
                var unaffectedRounds = 0
                for session in [affectedSession, unaffectedSession] {
                    #expect(
                        try await session.echoes(Self.pattern(round: 0)),
                        "a held session did not echo before the stop\n\(scope.diagnostics)")
                }
                unaffectedRounds += 1

                let survivorSessionsBefore = servers[survivor].standardError.count(of: "session opened")
                let stopped = ContinuousClock.now
                let haproxyOutput = haproxy.output
                let markedDown = Task { () -> Duration? in
                    let line = try? await haproxyOutput.line(
                        containing: "Server sync/end\(victim + 1) is DOWN", timeout: .seconds(15))
                    return line.map { _ in ContinuousClock.now - stopped }
                }
                let victimEnd = await servers[victim].stop()
                #expect(
                    victimEnd == .exited(0), "server \(victim + 1) did not stop cleanly: \(servers[victim].diagnostics)"
                )

                // The stopped end's client: its open session ends, with a reason in its log.
                let ending = try await affectedSession.readToEnd(timeout: .seconds(10))
                #expect(
                    ending.ending != .timedOut,
                    "client \(affected + 1)'s session outlived its server end\n\(scope.diagnostics)")
                let reason = try await clients[affected].standardError.line(
                    containingAnyOf: ["session reset by the peer", "sync connection lost", "session aborted"],
                    timeout: .seconds(10))
                print(
                    "HAProxy: client \(affected + 1)'s open session after the stop of server end \(victim + 1): \(ending.ending); its log: \(reason)"
                )

                // Its new sessions reach the other end once the health checks took the stopped one out.
                var recovery: Duration?
                var attempts = 0
                while recovery == nil && ContinuousClock.now - stopped < .seconds(15) {
                    attempts += 1
                    let probe = try scope.launch(
                        "retry \(attempts)",
                        [
                            "probe", "--connect", "127.0.0.1:\(listenPorts[affected])", "--bytes", "256KiB",
                            "--timeout", "3000",
                        ],
                        inNamespace: clientHosts[affected])
                    let end = await probe.waitForExit(timeout: .seconds(5))
                    if end == .exited(0) {
                        recovery = ContinuousClock.now - stopped
                    } else {
                        if end == nil { probe.send(signal: SIGKILL) }
                        _ = await probe.waitForExit(timeout: .seconds(5))
                        scope.release(probe)
                    }
                    // Meanwhile the other end's client goes on with the same session.
                    #expect(
                        try await unaffectedSession.echoes(Self.pattern(round: unaffectedRounds)),
                        "client \(unaffected + 1)'s session broke after the stop\n\(scope.diagnostics)")
                    unaffectedRounds += 1
                    if recovery == nil { try await Task.sleep(for: .milliseconds(200)) }
                }
                let recovered = try #require(
                    recovery,
                    "client \(affected + 1) reached no server end within 15 s of the stop\n\(scope.diagnostics)\n--- haproxy\n\(haproxy.output.tail())"
                )
                // The health checks take the stopped end out; the other client's session goes on
                // across that moment too.
                while ContinuousClock.now - stopped < .seconds(5) {
                    #expect(
                        try await unaffectedSession.echoes(Self.pattern(round: unaffectedRounds)),
                        "client \(unaffected + 1)'s session broke after the stop\n\(scope.diagnostics)")
                    unaffectedRounds += 1
                    try await Task.sleep(for: .milliseconds(250))
                }
                let down = await markedDown.value
                #expect(
                    down != nil,
                    "HAProxy did not mark server end \(victim + 1) down\n--- haproxy\n\(haproxy.output.tail())")
                print(
                    "HAProxy: health checks marked server end \(victim + 1) down \(down.map(Self.format) ?? "never") after it stopped"
                )
                print(
                    "HAProxy: client \(affected + 1) reached server end \(survivor + 1) \(Self.format(recovered)) after server end \(victim + 1) stopped (\(attempts) probe(s))"
                )
                #expect(
                    servers[survivor].standardError.count(of: "session opened") > survivorSessionsBefore,
                    "the recovered session did not reach server end \(survivor + 1)")

                // Both clients carry full probes again; the unaffected one never lost its sync connection.
                try await Self.probe(
                    scope, clientHosts[affected], listenPorts[affected], bytes: "2MiB", sessions: 2,
                    name: "after \(affected + 1)", haproxy: haproxy)
                try await Self.probe(
                    scope, clientHosts[unaffected], listenPorts[unaffected], bytes: "2MiB", sessions: 2,
                    name: "after \(unaffected + 1)", haproxy: haproxy)
                #expect(
                    try await unaffectedSession.echoes(Self.pattern(round: unaffectedRounds)), "\(scope.diagnostics)")
                unaffectedRounds += 1
                for (index, client) in clients.enumerated() where endOfClient[index] == survivor {
                    #expect(client.standardError.count(of: "sync connection lost") == 0, "\(client.diagnostics)")
                    #expect(client.standardError.count(of: "session reset") == 0, "\(client.diagnostics)")
                    #expect(client.standardError.count(of: "session aborted") == 0, "\(client.diagnostics)")
                }
                print(
                    "HAProxy: client \(unaffected + 1)'s session on server end \(survivor + 1) echoed \(unaffectedRounds) rounds across the stop; sessions per server end at the end \(servers.map { $0.standardError.count(of: "session opened") })"
                )
                affectedSession.hangUp()
                unaffectedSession.hangUp()
            }
        }

        /// Runs `tcsplitter probe` in `host` against the client listening on `port`; it must pass.
        static func probe(
            _ scope: ProcessScope, _ host: String, _ port: Int, bytes: String, sessions: Int, name: String,
            haproxy: HAProxyProcess
        ) async throws {
            let probe = try scope.launch(
                name,
                [
                    "probe", "--connect", "127.0.0.1:\(port)", "--bytes", bytes, "--sessions", "\(sessions)",
                    "--timeout", "20000",
                ],
                inNamespace: host)
            let ended = await probe.waitForExit(timeout: .seconds(25))
            #expect(
                ended == .exited(0),
                "\(name): \(probe.diagnostics)\n\(scope.diagnostics)\n--- haproxy\n\(haproxy.output.tail())")
            #expect(probe.standardOutput.count(of: "probe: OK") == 1, "\(probe.diagnostics)")
            if ended != .exited(0) { throw HarnessError("\(name) failed") }
        }

        /// The servers' `session opened` counts, once they add up to `total` (log lines arrive
        /// through pipes, a moment after the probe saw its echo).
        static func sessionCounts(_ servers: [SplitterProcess], total: Int) async throws -> [Int] {
            let deadline = ContinuousClock.now + .seconds(5)
            while true {
                let counts = servers.map { $0.standardError.count(of: "session opened") }
                if counts.reduce(0, +) >= total || ContinuousClock.now > deadline { return counts }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// `utils/deploy/haproxy.cfg` with this test's server addresses in place of the example's,
        /// and without the lines that only make sense for a system service.
        static func renderedConfiguration() throws -> String {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            var text = try String(contentsOf: root.appendingPathComponent("utils/deploy/haproxy.cfg"), encoding: .utf8)
            for (configured, address) in zip(Self.configuredEnds, Self.serverAddresses) {
                #expect(text.contains(configured), "haproxy.cfg no longer names its ends \(Self.configuredEnds)")
                text = text.replacingOccurrences(of: configured, with: address)
            }
            let serviceOnly: Set<Substring> = ["user", "group", "chroot", "daemon", "pidfile"]
            return text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { line in !serviceOnly.contains(line.split(separator: " ").first ?? "") }
                .joined(separator: "\n")
        }

        /// `a.b.c.1` for `a.b.c.d`.
        static func gateway(of address: String) -> String {
            address.split(separator: ".").dropLast().joined(separator: ".") + ".1"
        }

        /// 64 KiB that differ from round to round.
        static func pattern(round: Int) -> [UInt8] {
            (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round &* 7 &+ $0 >> 8) }
        }

        static func format(_ duration: Duration) -> String {
            let milliseconds =
                duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            return "\(milliseconds) ms"
        }
    }
}

/// HAProxy running in the foreground (`-db`) inside a namespace; its output collected, stopped by
/// its PID (`ip netns exec` execs it, so the PID is HAProxy's).
final class HAProxyProcess {
    let output = OutputCollector()
    private let process = Process()
    private let directory: URL

    init(namespace: String, configuration: String) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tcs-haproxy-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let file = self.directory.appendingPathComponent("haproxy.cfg")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        try NetworkNamespaces.run([IntegrationTests.HAProxyTests.haproxyCommand, "-c", "-f", file.path])
        self.process.executableURL = URL(fileURLWithPath: NetworkNamespaces.ipCommand)
        self.process.arguments = [
            "netns", "exec", namespace, IntegrationTests.HAProxyTests.haproxyCommand, "-f", file.path, "-db",
        ]
        self.process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        self.process.standardOutput = pipe
        self.process.standardError = pipe
        try self.process.run()
        self.output.startReading(pipe.fileHandleForReading)
    }

    /// SIGTERM, then SIGKILL after 5 s; removes the configuration.
    func stop() {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while self.process.isRunning && Date() < deadline { usleep(20_000) }
            if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    deinit {
        self.stop()
    }
}

/// A blocking TCP connection to `127.0.0.1:port` inside a network namespace: the socket is made
/// on a thread that joins the namespace (setns) for that moment only; the socket stays there.
final class NamespacedConnection: Sendable {
    private let descriptor: Int32
    private let closed = Mutex(false)

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        self.hangUp()
    }

    static func dial(namespace: String, port: Int) async throws -> NamespacedConnection {
        try await Self.onThread {
            typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(nil, "setns") else { throw HarnessError("no setns in the C library") }
            let setNamespace = unsafeBitCast(symbol, to: SetNamespace.self)
            let networkNamespace: Int32 = 0x4000_0000  // CLONE_NEWNET
            let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            let target = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
            defer {
                if original >= 0 { close(original) }
                if target >= 0 { close(target) }
            }
            guard original >= 0, target >= 0 else {
                throw HarnessError("cannot open the namespaces of \(namespace): errno \(errno)")
            }
            guard setNamespace(target, networkNamespace) == 0 else {
                throw HarnessError("setns(\(namespace)) failed: errno \(errno)")
            }
            defer { _ = setNamespace(original, networkNamespace) }
            return NamespacedConnection(descriptor: try PlainSocket.dial(port: port))
        }
    }

    /// Sends `bytes` and reads them back within 10 s: whether exactly they came back.
    func echoes(_ bytes: [UInt8]) async throws -> Bool {
        try await Self.onThread {
            try PlainSocket.sendAll(bytes, on: self.descriptor)
            var reply: [UInt8] = []
            _ = PlainSocket.receive(
                on: self.descriptor, into: &reply, until: bytes.count, deadline: ContinuousClock.now + .seconds(10))
            return reply == bytes
        }
    }

    /// Reads until the input ends (end of file or reset) or `timeout` passes.
    func readToEnd(timeout: Duration) async throws -> PlainSocket.Exchange {
        try await Self.onThread {
            var reply: [UInt8] = []
            let ending = PlainSocket.receive(
                on: self.descriptor, into: &reply, until: nil, deadline: ContinuousClock.now + timeout)
            return PlainSocket.Exchange(reply: reply, ending: ending ?? .timedOut)
        }
    }

    /// Closes the socket (once).
    func hangUp() {
        let first = self.closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { close(self.descriptor) }
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "tcsplitter-test-namespaced-connection"
            thread.start()
        }
    }
}
