import ArgumentParser
import NIOCore
import NIOPosix
import TCSplitterCore
import TCSplitterNIO
import TCSplitterTools

/// `tcsplitter udp-echo`: a UDP echo service, the "service to forward to" of UDP checks.
struct UDPEchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-echo",
        abstract: "Run a UDP echo service (for demos and checks): every datagram goes back to its sender."
    )

    @Option(name: .customLong("listen"), help: "Address to echo on (host:port; port 0 picks one; [::1]:port for IPv6).")
    var listen = "127.0.0.1:6003"

    func run() async throws {
        let address: EndpointAddress
        do {
            address = try ToolSupport.requiredAddress(self.listen, flag: "--listen")
        } catch {
            throw TunnelRunner.fail(error)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await UDPEchoService.start(host: address.bindHost, port: address.port, group: group).get()
        await ToolSupport.serveUntilSignal(channel, role: "udp-echo", group: group)
    }
}

/// `tcsplitter udp-probe`: numbered datagrams through a UDP echo path, checked for loss, order
/// and integrity, with a bounded number in flight.
struct UDPProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-probe",
        abstract:
            "Send numbered datagrams of random sizes through a UDP echo path (e.g. a --protocol udp client's --listen in front of `tcsplitter udp-echo`) and check each comes back intact and in order.",
        discussion: """
            At most --window datagrams are in flight per session, so on loopback the kernel's socket \
            buffers never overflow: a datagram counted lost was lost by the path, not dropped locally. \
            Exits 1 when any datagram was lost, corrupted or reordered, unless --allow-loss is given \
            (then only corruption and reordering fail).
            """
    )

    @Option(name: .customLong("connect"), help: "Where to send (host:port), e.g. the client's --listen.")
    var connect = "127.0.0.1:6000"

    @Option(name: .customLong("datagrams"), help: "Datagrams each session sends.")
    var datagrams = "10000"

    @Option(
        name: .customLong("sizes"),
        help: "min:max datagram size in bytes (0-65507); sizes below 8 cannot carry a sequence number.")
    var sizes = "1:8000"

    @Option(name: .customLong("window"), help: "Datagrams in flight per session at most.")
    var window = "16"

    @Option(name: .customLong("sessions"), help: "Concurrent sessions, each from its own source port.")
    var sessions = "1"

    @Option(
        name: .customLong("loss-timeout"), help: "ms without an echo after which the datagrams in flight count as lost."
    )
    var lossTimeout = "2000"

    @Option(name: .customLong("timeout"), help: "ms allowed for the whole probe.")
    var timeout = "120000"

    @Flag(
        name: .customLong("allow-loss"),
        help: "Report lost datagrams without failing (corruption and reordering still fail).")
    var allowLoss = false

    func run() async throws {
        let address: EndpointAddress
        let plan: UDPProbeClient.Plan
        let sessionCount: Int
        let timeoutMilliseconds: Int
        do {
            address = try ToolSupport.requiredAddress(self.connect, flag: "--connect")
            let count = try FlagValue.integer(self.datagrams, flag: "--datagrams", in: 1...1_000_000_000)
            let sizes = try FlagValue.pair(
                self.sizes, flag: "--sizes", shape: "min:max", first: 0...65_507, second: 0...65_507, defaultSecond: 0
            )
            guard sizes.0 <= sizes.1 else {
                throw ConfigurationError(flag: "--sizes", "min \(sizes.0) is above max \(sizes.1)")
            }
            let window = try FlagValue.integer(self.window, flag: "--window", in: 1...100_000)
            let lossTimeout = try FlagValue.integer(self.lossTimeout, flag: "--loss-timeout", in: 1...3_600_000)
            sessionCount = try FlagValue.integer(self.sessions, flag: "--sessions", in: 1...10_000)
            timeoutMilliseconds = try FlagValue.integer(self.timeout, flag: "--timeout", in: 1...86_400_000)
            plan = UDPProbeClient.Plan(
                count: count,
                minBytes: sizes.0,
                maxBytes: sizes.1,
                window: window,
                lossTimeout: .milliseconds(Int64(lossTimeout)),
                seed: 1
            )
        } catch {
            throw TunnelRunner.fail(error)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now()
        let futures = (0..<sessionCount).map { index in
            var sessionPlan = plan
            sessionPlan.seed = UInt64(index + 1) &* 0x9E37_79B9
            return UDPProbeClient.run(
                host: address.dialHost,
                port: address.port,
                plan: sessionPlan,
                timeout: .milliseconds(Int64(timeoutMilliseconds)),
                group: group
            )
        }
        var total = UDPProbeClient.Result()
        var failures = 0
        for (index, future) in futures.enumerated() {
            do {
                let result = try await future.get()
                total.sent += result.sent
                total.received += result.received
                total.lost += result.lost
                total.corrupt += result.corrupt
                total.reordered += result.reordered
                total.bytesReceived += result.bytesReceived
                let broken = result.corrupt > 0 || result.reordered > 0
                if broken || (!self.allowLoss && !result.isExact) {
                    failures += 1
                    FileHandleOutput.standardError("udp-probe: session \(index) FAILED: \(result)\n")
                }
            } catch {
                failures += 1
                FileHandleOutput.standardError("udp-probe: session \(index) failed: \(error)\n")
            }
        }
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let lossPercent = total.sent == 0 ? 0 : Double(total.lost) * 100 / Double(total.sent)
        let verdict = failures == 0 ? "OK" : "FAILED (\(failures) of \(sessionCount) sessions)"
        FileHandleOutput.standardOutput(
            "udp-probe: \(verdict): \(sessionCount) session(s), sent \(total.sent), received \(total.received), lost \(total.lost) (\(Self.format(lossPercent))%), corrupt \(total.corrupt), reordered \(total.reordered) in \(Self.format(seconds)) s: \(Self.format(Double(total.received) / seconds)) datagrams/s, \(Self.format(Double(total.bytesReceived) * 8 / seconds / 1e6)) Mbit/s echoed\n"
        )
        try? await group.shutdownGracefully()
        if failures > 0 { throw ExitCode(1) }
    }

    private static func format(_ value: Double) -> String {
        "\((value * 100).rounded() / 100)"
    }
}
