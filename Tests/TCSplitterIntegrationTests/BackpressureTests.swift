import NIOCore
import Testing

extension IntegrationTests {
    /// A service that never reads must stop the writer, not grow the tunnel's memory.
    @Suite("Backpressure")
    struct BackpressureTests {
        /// How long the writer pushes.
        static let floodTime: Duration = .seconds(3)
        /// Bound on what the whole path may accept with `--window 4MiB`: the window on each end
        /// plus the kernel buffers of the writer's, the client's, the server's and the service's
        /// sockets (this host lets a receive buffer grow to 32 MiB, but one nobody reads stays
        /// small). Without backpressure the tunnel takes about 30 MiB/s here.
        static let acceptedLimit = 64 * Size.mebibyte
        /// Bound on each end's peak resident memory.
        static let residentLimit = 200 * Size.mebibyte

        @Test(
            "Writing into a service that never reads stalls the writer with bounded bytes and memory",
            .timeLimit(.minutes(1))
        )
        func blackholeBoundsBytesAndMemory() async throws {
            try await withEventLoopGroup { group in
                try await withBlackhole(group: group) { blackhole in
                    try await withProcesses { scope in
                        let tunnel = try await scope.startTunnel(
                            forwardPort: blackhole.port,
                            // The session into the blackhole can never finish: no drain at stop.
                            flags: ["--window", "4MiB", "--grace-period", "0"]
                        )
                        let writer = try await FloodWriter.start(port: tunnel.listenPort, group: group)
                        try await Task.sleep(for: Self.floodTime)
                        let accepted = writer.acceptedBytes
                        let peaks = (
                            client: try tunnel.client.process.peakResidentBytes(),
                            server: try tunnel.server.process.peakResidentBytes()
                        )
                        await writer.close()
                        let report =
                            "accepted \(accepted) bytes in \(Self.floodTime); VmHWM client \(peaks.client >> 20) MiB, server \(peaks.server >> 20) MiB"
                        #expect(blackhole.acceptedConnections == 1, "\(report)\n\(scope.diagnostics)")
                        #expect(
                            accepted >= Size.mebibyte,
                            "the tunnel carried almost nothing: \(report)\n\(scope.diagnostics)"
                        )
                        #expect(accepted < Self.acceptedLimit, "\(report)\n\(scope.diagnostics)")
                        #expect(peaks.client < Self.residentLimit, "\(report)")
                        #expect(peaks.server < Self.residentLimit, "\(report)")
                    }
                }
            }
        }
    }
}
