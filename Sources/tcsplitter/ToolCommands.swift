import ArgumentParser
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO
import TCSplitterTools

/// `tcsplitter echo`: a TCP echo service, the "service to forward to" of the demo and tests.
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Run a TCP echo service (for demos and checks): every byte comes back; a half-close is echoed too."
    )

    @Option(
        name: .customLong("listen"), help: "Address to echo on (host:port; port 0 picks one).",
        parser: AddressOrOff.parse)
    var listen = AddressOrOff(address: EndpointAddress(host: "127.0.0.1", port: 6003))

    func run() async throws {
        let address: EndpointAddress
        do {
            address = try ToolSupport.required(self.listen, flag: "--listen")
        } catch {
            throw TunnelRunner.fail(error)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await EchoService.start(host: address.bindHost, port: address.port, group: group).get()
        await ToolSupport.serveUntilSignal(channel, role: "echo", group: group)
    }
}

/// `tcsplitter probe`: pushes random bytes through an echo path and checks them with SHA-256.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract:
            "Send random bytes through an echo path (e.g. the tunnel's --listen in front of `tcsplitter echo`) and verify every byte comes back (SHA-256)."
    )

    @Option(
        name: .customLong("connect"), help: "Where to connect (host:port), e.g. the client's --listen.",
        parser: AddressOrOff.parse)
    var connect = AddressOrOff(address: EndpointAddress(host: "127.0.0.1", port: 6000))

    @Option(
        name: .customLong("bytes"), help: "Bytes each session sends (e.g. 16MiB).",
        parser: ByteCount.parser(in: 0...(1 << 40)))
    var bytes = ByteCount(bytes: 16 << 20)

    @Option(
        name: .customLong("sessions"), help: "Concurrent sessions (connections).", parser: Int.parser(in: 1...10_000))
    var sessions = 1

    @Option(
        name: .customLong("timeout"), help: "ms allowed for the whole probe.",
        parser: Milliseconds.parser(in: 1...Milliseconds.dayMilliseconds))
    var timeout = Milliseconds(120_000)

    func run() async throws {
        let address: EndpointAddress
        let byteCount = self.bytes.bytes
        let sessionCount = self.sessions
        do {
            address = try ToolSupport.required(self.connect, flag: "--connect")
        } catch {
            throw TunnelRunner.fail(error)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now()
        let futures = (0..<sessionCount).map { index in
            ProbeClient.run(
                host: address.dialHost,
                port: address.port,
                bytes: byteCount,
                seed: UInt64(index + 1) &* 0x9E37_79B9,
                timeout: self.timeout.timeAmount,
                group: group
            )
        }
        var failures = 0
        for (index, future) in futures.enumerated() {
            do {
                let result = try await future.get()
                if !result.isExact {
                    failures += 1
                    FileHandleOutput.standardError(
                        "probe: session \(index) MISMATCH: sent \(result.sentBytes) bytes, got \(result.receivedBytes) back\n"
                    )
                }
            } catch {
                failures += 1
                FileHandleOutput.standardError("probe: session \(index) failed: \(error)\n")
            }
        }
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let total = Double(byteCount * sessionCount)
        let mibPerSecond = total / seconds / 1_048_576
        let verdict = failures == 0 ? "OK" : "FAILED (\(failures) of \(sessionCount) sessions)"
        FileHandleOutput.standardOutput(
            "probe: \(verdict): \(sessionCount) session(s) x \(byteCount) bytes echoed in \(Self.format(seconds)) s, \(Self.format(mibPerSecond)) MiB/s each way\n"
        )
        try? await group.shutdownGracefully()
        if failures > 0 { throw ExitCode(1) }
    }

    private static func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}

/// `tcsplitter chaos-proxy`: the fault injector of the chaos tests and benchmarks.
struct ChaosProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos-proxy",
        abstract:
            "Relay TCP connections to --to, resetting a share of them mid-stream (fault injection for tests and benchmarks)."
    )

    @Option(
        name: .customLong("listen"), help: "Address to accept on (host:port; port 0 picks one).",
        parser: AddressOrOff.parse)
    var listen = AddressOrOff(address: EndpointAddress(host: "127.0.0.1", port: 0))

    @Option(
        name: .customLong("to"), help: "Address to relay to (host:port), e.g. the server's --lFling.",
        transform: AddressOrOff.parse)
    var to: AddressOrOff

    @Option(
        name: .customLong("kill-percent"), help: "Share of connections reset mid-stream, 0-100.",
        parser: Int.parser(in: 0...100))
    var killPercent = 10

    @Option(
        name: .customLong("stall-percent"),
        help: "Share of connections that go silent mid-stream (open, relaying nothing more), 0-100.",
        parser: Int.parser(in: 0...100))
    var stallPercent = 0

    @Option(
        name: .customLong("kill-within"),
        help: "A doomed connection dies (or stalls) within its first this-many bytes (e.g. 256KiB).",
        parser: ByteCount.parser(in: 1...(1 << 40)))
    var killWithin = ByteCount(bytes: 256 << 10)

    @Option(
        name: .customLong("seed"), help: "Seed of the kill decisions, so a run can be repeated.",
        parser: Int.parser(in: 0...Int.max))
    var seed = 1

    func run() async throws {
        let listen: EndpointAddress
        let target: EndpointAddress
        do {
            listen = try ToolSupport.required(self.listen, flag: "--listen")
            target = try ToolSupport.required(self.to, flag: "--to")
            guard self.killPercent + self.stallPercent <= 100 else {
                throw ConfigurationError(
                    flag: "--stall-percent",
                    "\(self.stallPercent) is out of range 0...\(100 - self.killPercent) (--kill-percent \(self.killPercent) takes the rest)"
                )
            }
        } catch {
            throw TunnelRunner.fail(error)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let address = try SocketAddress.makeAddressResolvingHost(target.dialHost, port: target.port)
        let proxy = FaultInjectingProxy(
            target: address,
            killRate: Double(self.killPercent) / 100,
            stallRate: Double(self.stallPercent) / 100,
            killWithinBytes: self.killWithin.bytes,
            seed: UInt64(self.seed)
        )
        let channel = try await proxy.start(host: listen.bindHost, port: listen.port, group: group).get()
        await ToolSupport.serveUntilSignal(channel, role: "chaos-proxy", group: group) {
            let counts = proxy.counts
            FileHandleOutput.standardError(
                "chaos-proxy: \(counts.accepted) connections, \(counts.killed) killed, \(counts.stalled) stalled, \(counts.bytesToTarget) bytes to the target, \(counts.bytesFromTarget) bytes back\n"
            )
        }
    }
}

/// What the tool subcommands share.
enum ToolSupport {
    /// The address of a flag that must be set (`0` or empty is refused, naming `flag`).
    static func required(_ value: AddressOrOff, flag: String) throws(ConfigurationError) -> EndpointAddress {
        guard let address = value.address else {
            throw ConfigurationError(flag: flag, "an address is required")
        }
        return address
    }

    /// Announces the bound address on standard output, serves until SIGINT or SIGTERM, runs
    /// `onStop` (a last report), then closes the listener and its event loop group.
    static func serveUntilSignal(
        _ channel: Channel,
        role: String,
        group: MultiThreadedEventLoopGroup,
        onStop: () -> Void = {}
    ) async {
        FileHandleOutput.standardOutput(
            "tcsplitter ready role=\(role) listen=\(channel.localAddress!.ipAddressWithPort)\n"
        )
        _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        onStop()
        try? await channel.close().get()
        try? await group.shutdownGracefully()
    }
}
