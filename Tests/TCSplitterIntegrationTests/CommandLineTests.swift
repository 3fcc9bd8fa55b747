import Testing

extension IntegrationTests {
    /// Bad flags end the binary at once with one line that names the flag.
    @Suite("Command line")
    struct CommandLineTests {
        /// One invalid command line and the flag its error must name.
        struct Case: Sendable, CustomTestStringConvertible {
            /// Arguments after the binary.
            var arguments: [String]
            /// The flag the first stderr line must name.
            var flag: String
            /// What else the first stderr line must say (the reason), if anything.
            var says: String? = nil

            var testDescription: String { "tcsplitter " + self.arguments.joined(separator: " ") }
        }

        static let cases: [Case] = [
            Case(arguments: ["client", "--frags", "abc"], flag: "--frags"),
            Case(arguments: ["client", "--tick", "-5"], flag: "--tick"),
            Case(arguments: ["client", "--rFling", "127.0.0.1:70000"], flag: "--rFling"),
            Case(arguments: ["client", "--stats", "often"], flag: "--stats"),
            Case(arguments: ["client", "--rFling", "127.0.0.1:1", "--budget", "soon"], flag: "--budget"),
            Case(arguments: ["client", "--rFling", "127.0.0.1:1", "--budget", "0"], flag: "--budget"),
            Case(arguments: ["client", "--grace-period", "-1"], flag: "--grace-period"),
            Case(arguments: ["client", "--metrics", "localhost"], flag: "--metrics"),
            Case(
                arguments: ["server", "--lFling", "127.0.0.1:0", "--lSync", "127.0.0.1:0", "--forward", "0"],
                flag: "--forward"
            ),
            // A server with nowhere to forward sessions refuses to start (it used to guess 127.0.0.1:6003).
            Case(arguments: ["server", "--lFling", "127.0.0.1:0", "--lSync", "127.0.0.1:0"], flag: "--forward"),
            Case(arguments: ["client", "--rFling", "127.0.0.1:1", "--clocks", "sometimes"], flag: "--clocks"),
            Case(
                arguments: ["client", "--rFling", "127.0.0.1:1", "--protocol", "udp", "--udp-idle-timeout", "0"],
                flag: "--udp-idle-timeout"),
            Case(
                arguments: ["client", "--rFling", "127.0.0.1:1", "--protocol", "udp", "--frags", "32"], flag: "--frags"),
            Case(
                arguments: ["client", "--frags", "0:1250"], flag: "--frags",
                says: "payload 0 is out of range 1...1048576"),
            Case(arguments: ["client", "--frags", "abc"], flag: "--frags", says: "not a payload:mtu pair"),
            Case(arguments: ["client", "--window", "4TiB"], flag: "--window", says: "is not a byte count"),
            Case(arguments: ["client", "--mode", "fast"], flag: "--mode", says: "'stealth'"),
            Case(arguments: ["client", "--dup", "sideways"], flag: "--dup", says: "'lasso'"),
            Case(arguments: ["client", "--log-level", "loud"], flag: "--log-level"),
            Case(arguments: ["probe", "--bytes", "2TiB"], flag: "--bytes"),
            Case(arguments: ["udp-probe", "--sizes", "100:10"], flag: "--sizes", says: "min 100 is above max 10"),
            Case(
                arguments: ["chaos-proxy", "--to", "127.0.0.1:1", "--kill-percent", "60", "--stall-percent", "50"],
                flag: "--stall-percent"),
        ]

        @Test(
            "An invalid flag value exits non-zero within seconds, and the first stderr line names the flag",
            .timeLimit(.minutes(1)),
            arguments: Self.cases
        )
        func invalidFlagIsNamed(_ invalid: Case) async throws {
            try await withProcesses(expectCleanStop: false) { scope in
                let process = try scope.launch("tcsplitter", invalid.arguments)
                let end = try #require(
                    await process.waitForExit(timeout: .seconds(10)),
                    "still running after 10 s\n\(process.diagnostics)"
                )
                #expect(end == .exited(2), "\(end)\n\(process.diagnostics)")
                // The pipe may still be draining when the exit is seen: await the error line.
                _ = try await process.logLine(containing: "tcsplitter: ", timeout: .seconds(5))
                let firstLine = process.standardError.text.split(separator: "\n").first.map(String.init) ?? ""
                #expect(firstLine.contains(invalid.flag), "first stderr line: \(firstLine)")
                #expect(invalid.says.map { firstLine.contains($0) } ?? true, "first stderr line: \(firstLine)")
                #expect(process.standardOutput.text.isEmpty, "printed on stdout: \(process.standardOutput.text)")
            }
        }

        /// The help a command prints on standard output.
        static func help(_ arguments: [String]) async throws -> String {
            try await withProcesses(expectCleanStop: false) { scope in
                let process = try scope.launch("tcsplitter", arguments)
                let end = try #require(await process.waitForExit(timeout: .seconds(10)), "\(process.diagnostics)")
                #expect(end == .exited(0), "\(end)\n\(process.diagnostics)")
                _ = try await process.standardOutput.line(containing: "USAGE:", timeout: .seconds(5))
                return process.standardOutput.text
            }
        }

        @Test(
            "help client shows the client's flags in groups and hides the server's; help server the reverse",
            .timeLimit(.minutes(1)))
        func helpPerRole() async throws {
            let client = try await Self.help(["help", "client"])
            let server = try await Self.help(["help", "server"])
            for group in ["TUNING:", "RELIABILITY:", "SECURITY:", "LIMITS:", "SERVICE:"] {
                #expect(client.contains(group) && server.contains(group), "\(group)")
            }
            for flag in ["--listen", "--rFling", "--conns", "--transparent"] {
                #expect(client.contains(flag), "help client lacks \(flag)")
                #expect(!server.contains("\n  \(flag) "), "help server lists \(flag)")
            }
            for flag in ["--forward", "--lFling", "--allow", "--max-handshakes", "--max-clients"] {
                #expect(server.contains(flag), "help server lacks \(flag)")
                #expect(!client.contains("\n  \(flag) "), "help client lists \(flag)")
            }
            // The original's ignored flags are hidden, and still accepted (named in the log).
            #expect(!client.contains("--rFlingR") && !server.contains("--lFlingR"))
        }

        @Test("the bare --help lists every subcommand, the UDP tools included", .timeLimit(.minutes(1)))
        func subcommandsListed() async throws {
            let help = try await Self.help(["--help"])
            for command in ["client", "server", "echo", "probe", "chaos-proxy", "udp-echo", "udp-probe"] {
                #expect(help.contains("  \(command) "), "--help does not list \(command)")
            }
        }
    }
}
