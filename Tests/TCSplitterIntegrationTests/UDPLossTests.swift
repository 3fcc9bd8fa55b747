import NIOCore
import TCSplitterNIO
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// `--protocol udp` through `tcsplitter chaos-proxy`, which resets a share of the fling
    /// connections mid-stream: payloads in flight on them are lost. Without retries a lost payload
    /// costs the datagrams in it (dropped after a short wait, never waited for until the stall
    /// timeout); FEC rebuilds most of them. The loss the application sees is measured both ways.
    @Suite("UDP loss: with and without FEC")
    struct UDPLossTests {
        /// Datagrams carry their number (at least 8 bytes), so the probe counts exactly which were lost.
        static let plan = UDPProbeClient.Plan(
            count: 10_000, minBytes: 8, maxBytes: 1400, window: 32, lossTimeout: .seconds(3), seed: 11
        )

        @Test(
            "with 10% of fling connections reset, FEC (10:3) cuts the datagram loss the application sees; order and bytes stay intact",
            .timeLimit(.minutes(3))
        )
        func fecCutsLoss() async throws {
            let flags = UDPTests.udpEventDriven + ["--conns", "26"]
            let plain = try await self.lossRun(flags: flags)
            let fec = try await self.lossRun(flags: flags + ["--fec", "10:3"])
            print(
                "udp loss, 10% of fling connections reset: without FEC \(plain.lost) of \(plain.sent) datagrams (\(Self.percent(plain))%); with --fec 10:3 \(fec.lost) of \(fec.sent) (\(Self.percent(fec))%)"
            )
            for result in [plain, fec] {
                #expect(result.corrupt == 0 && result.reordered == 0, "\(result)")
                #expect(result.received + result.lost == result.sent, "\(result)")
            }
            #expect(plain.lost > 0, "the fault injector cost no datagram: the test shows nothing")
            #expect(fec.lost < plain.lost, "FEC did not reduce the loss: \(fec) vs \(plain)")
        }

        private func lossRun(flags: [String]) async throws -> UDPProbeClient.Result {
            try await withEventLoopGroup { group in
                try await withUDPEchoService(group: group) { echoPort in
                    try await withProcesses { scope in
                        var outcome: UDPProbeClient.Result?
                        try await ChaosTests().withChaosTunnel(
                            forwardPort: echoPort,
                            flags: flags,
                            killPercent: 10,
                            scope: scope
                        ) { port, client, server in
                            let results = try await udpProbe(
                                port: port, plan: Self.plan, timeout: .seconds(80), group: group)
                            outcome = results.first
                            for end in [client, server] {
                                #expect(end.standardError.count(of: "session aborted") == 0, "\(end.diagnostics)")
                            }
                        }
                        return try #require(outcome)
                    }
                }
            }
        }

        private static func percent(_ result: UDPProbeClient.Result) -> Double {
            (Double(result.lost) * 10_000 / Double(max(1, result.sent))).rounded() / 100
        }
    }
}
