import Foundation
import TCSplitterCore
import TCSplitterTools
import Testing

extension IntegrationTests {
    /// `--mode` presets and `--congestion`: real transfers with each.
    @Suite("Presets and congestion control")
    struct PresetTests {
        @Test(
            "each --mode preset (on both ends) carries 3 sessions of 2 MiB byte-exact", .timeLimit(.minutes(1)),
            arguments: ModePreset.allCases)
        func preset(mode: ModePreset) async throws {
            // bbr may be missing on a CI kernel: the end logs it and keeps the default, which the
            // transfer must survive either way.
            try await self.transfer(flags: ["--mode", mode.rawValue], sessions: 3, bytes: 2 * Size.mebibyte) { _ in }
        }

        @Test(
            "--congestion sets the tunnel connections' congestion control; an unknown one is logged once and the default stays",
            .timeLimit(.minutes(1)))
        func congestion() async throws {
            try await self.transfer(
                flags: ["--tick", "0", "--tock", "0", "--buffer", "0", "--congestion", "reno"], sessions: 1,
                bytes: 8 * Size.mebibyte
            ) { tunnel in
                // ss shows each socket's congestion control; every tunnel connection must use reno.
                guard
                    let listing = try? NetworkNamespaces.run([
                        "/usr/bin/ss", "-tinH", "state", "established", "( dport = :\(tunnel.server.flingPort) )",
                    ])
                else { return }
                let sockets = listing.split(separator: "\n").filter { $0.contains(":\(tunnel.server.flingPort)") }.count
                let reno = listing.components(separatedBy: " reno ").count - 1
                #expect(sockets > 0 && reno == sockets, "\(sockets) tunnel sockets, \(reno) with reno:\n\(listing)")
            }
            try await self.transfer(
                flags: ["--tick", "0", "--tock", "0", "--buffer", "0", "--congestion", "nosuchcc"], sessions: 1,
                bytes: Size.mebibyte
            ) { tunnel in
                let line = try await tunnel.client.process.logLine(
                    containing: "congestion control nosuchcc unavailable", timeout: .seconds(10))
                #expect(line.contains("system default"))
                #expect(tunnel.client.process.standardError.count(of: "congestion control nosuchcc unavailable") == 1)
            }
        }

        private func transfer(
            flags: [String],
            sessions: Int,
            bytes: Int,
            sourceLocation: SourceLocation = #_sourceLocation,
            check: (Tunnel) async throws -> Void
        ) async throws {
            try await withEventLoopGroup { group in
                try await withEchoService(group: group) { echoPort in
                    try await withProcesses(sourceLocation: sourceLocation) { scope in
                        let tunnel = try await scope.startTunnel(forwardPort: echoPort, flags: flags)
                        let mismatches = await probeMismatches(
                            port: tunnel.listenPort, sessions: sessions, bytes: bytes, timeout: .seconds(45),
                            group: group)
                        #expect(
                            mismatches.isEmpty, "\(flags): \(mismatches)\n\(scope.diagnostics)",
                            sourceLocation: sourceLocation)
                        try await check(tunnel)
                    }
                }
            }
        }
    }
}
