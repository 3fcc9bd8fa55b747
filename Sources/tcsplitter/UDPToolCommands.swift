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

    @Option(
        name: .customLong("listen"), help: "Address to echo on (host:port; port 0 picks one; [::1]:port for IPv6).",
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

    @Option(
        name: .customLong("connect"), help: "Where to send (host:port), e.g. the client's --listen.",
        parser: AddressOrOff.parse)
    var connect = AddressOrOff(address: EndpointAddress(host: "127.0.0.1", port: 6000))

    @Option(
        name: .customLong("datagrams"), help: "Datagrams each session sends.",
        parser: Int.parser(in: 1...1_000_000_000))
    var datagrams = 10000

    @Option(
        name: .customLong("sizes"),
        help: "min:max datagram size in bytes (0-65507); sizes below 8 cannot carry a sequence number.",
        parser: DatagramSizes.parse)
    var sizes = DatagramSizes(minBytes: 1, maxBytes: 8000)

    @Option(
        name: .customLong("window"), help: "Datagrams in flight per session at most.",
        parser: Int.parser(in: 1...100_000))
    var window = 16

    @Option(
        name: .customLong("sessions"), help: "Concurrent sessions, each from its own source port.",
        parser: Int.parser(in: 1...10_000))
    var sessions = 1

    @Option(
        name: .customLong("loss-timeout"),
        help: "ms without an echo after which the datagrams in flight count as lost.",
        parser: Milliseconds.parser(in: 1...3_600_000))
    var lossTimeout = Milliseconds(2000)

    @Option(
        name: .customLong("timeout"), help: "ms allowed for the whole probe.",
        parser: Milliseconds.parser(in: 1...Milliseconds.dayMilliseconds))
    var timeout = Milliseconds(120_000)

    @Flag(
        name: .customLong("allow-loss"),
        help: "Report lost datagrams without failing (corruption and reordering still fail).")
    var allowLoss = false

    func run() async throws {
        let address: EndpointAddress
        let sessionCount = self.sessions
        do {
            address = try ToolSupport.required(self.connect, flag: "--connect")
        } catch {
            throw TunnelRunner.fail(error)
        }
        let plan = UDPProbeClient.Plan(
            count: self.datagrams,
            minBytes: self.sizes.minBytes,
            maxBytes: self.sizes.maxBytes,
            window: self.window,
            lossTimeout: self.lossTimeout.timeAmount,
            seed: 1
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now()
        let futures = (0..<sessionCount).map { index in
            var sessionPlan = plan
            sessionPlan.seed = UInt64(index + 1) &* 0x9E37_79B9
            return UDPProbeClient.run(
                host: address.dialHost,
                port: address.port,
                plan: sessionPlan,
                timeout: self.timeout.timeAmount,
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
