import ArgumentParser
import NIOCore
import TCSplitterCore
import Testing

@testable import tcsplitter

/// The flag value types of the command line (`Sources/tcsplitter/Options/Values/`): the
/// original's spellings, and refusals that say what is wrong. No process is started.
@Suite struct FlagValueTests {
    /// The reason a parse refused its text, if it did.
    static func refusal<T>(_ parse: () throws(ValidationError) -> T) -> String? {
        do {
            _ = try parse()
            return nil
        } catch {
            return error.message
        }
    }

    /// The one line argument-parser's refusal of `arguments` to `client` reads as, if it refused.
    static func clientRefusal(_ arguments: [String]) -> String? {
        do {
            _ = try ClientCommand.parse(arguments)
            return nil
        } catch {
            return ClientCommand.message(for: error)
        }
    }

    @Test("whole numbers within range parse, with surrounding spaces")
    func wholeNumber() throws {
        #expect(try FlagText.wholeNumber("42", in: 1...1024) == 42)
        #expect(try FlagText.wholeNumber(" 1 ", in: 1...1024) == 1)
        #expect(try FlagText.wholeNumber("1024", in: 1...1024) == 1024)
        #expect(try FlagText.wholeNumber("-5", in: -10...0) == -5)
    }

    @Test("non-numbers and numbers out of range are refused, naming the range and its unit")
    func wholeNumberRefused() {
        for value in ["", "abc", "4.5", "1e3", "0x10", "99999999999999999999"] {
            let message = Self.refusal { () throws(ValidationError) in try FlagText.wholeNumber(value, in: 1...1024) }
            #expect(message == "\"\(value)\" is not a whole number", "\(value)")
        }
        let low = Self.refusal { () throws(ValidationError) in
            try FlagText.wholeNumber("0", in: 1...1024, unit: " connections")
        }
        #expect(low == "0 is out of range 1...1024 connections")
        let high = Self.refusal { () throws(ValidationError) in try FlagText.wholeNumber("1025", in: 1...1024) }
        #expect(high == "1025 is out of range 1...1024")
    }

    @Test("a:b pairs parse; a single number takes the default second half where the flag has one")
    func pairs() throws {
        #expect(try PayloadAndMTU.parse("10000:1250") == PayloadAndMTU(payloadBytes: 10000, mtuBytes: 1250))
        #expect(try PayloadAndMTU.parse("65536") == PayloadAndMTU(payloadBytes: 65536, mtuBytes: 1250))
        #expect(try DataAndParity.parse("0") == DataAndParity(dataShards: 0, parityShards: 0))
        #expect(try DataAndParity.parse("10:3") == DataAndParity(dataShards: 10, parityShards: 3))
        #expect(try RetryPolicy.parse("1:-1") == RetryPolicy(resends: true, skipAfterRequests: -1))
        #expect(try RetryPolicy.parse("0") == RetryPolicy(resends: false, skipAfterRequests: -1))
        #expect(try PlayoutBuffer.parse(" 250:4 ") == PlayoutBuffer(interval: Milliseconds(250), payloads: 4))
        #expect(try DatagramSizes.parse("1:8000") == DatagramSizes(minBytes: 1, maxBytes: 8000))
    }

    @Test(
        "malformed pairs are refused with the pair's shape",
        arguments: ["", "1:2:3", ":5", "5:", "a:b", "1 : 2", "1:x"])
    func pairRefused(value: String) {
        let message = Self.refusal { () throws(ValidationError) in try PayloadAndMTU.parse(value) }
        #expect(message == "\"\(value)\" is not a payload:mtu pair of whole numbers")
    }

    @Test("a half out of range is named by its part of the shape")
    func pairOutOfRange() {
        #expect(
            Self.refusal { () throws(ValidationError) in try PayloadAndMTU.parse("0:1250") }
                == "payload 0 is out of range 1...1048576")
        #expect(
            Self.refusal { () throws(ValidationError) in try PayloadAndMTU.parse("10:70000") }
                == "mtu 70000 is out of range 0...65535")
        #expect(
            Self.refusal { () throws(ValidationError) in try DataAndParity.parse("3:256") }
                == "parity 256 is out of range 0...255")
        #expect(
            Self.refusal { () throws(ValidationError) in try RetryPolicy.parse("2") } == "on 2 is out of range 0...1")
        #expect(
            Self.refusal { () throws(ValidationError) in try DatagramSizes.parse("100:10") }
                == "min 100 is above max 10")
    }

    @Test(
        "byte counts take binary suffixes in any case",
        arguments: [
            ("4194304", 4_194_304), ("4MiB", 4 << 20), ("4M", 4 << 20), ("4mb", 4 << 20), ("512KiB", 512 << 10),
            ("512k", 512 << 10), ("1GiB", 1 << 30), ("1g", 1 << 30), ("100b", 100), (" 64KiB ", 64 << 10),
        ] as [(String, Int)]
    )
    func byteCount(value: String, bytes: Int) throws {
        #expect(try ByteCount.parser(in: 1...(1 << 40))(value) == ByteCount(bytes: bytes))
        #expect(ByteCount(argument: value) == ByteCount(bytes: bytes))
    }

    @Test(
        "unknown suffixes, missing digits and overflow are refused",
        arguments: ["", "MiB", "4TiB", "4 MiB", "-4MiB", "4.5MiB", "99999999999999999999G", "9223372036854775807G"])
    func byteCountRefused(value: String) {
        let message = Self.refusal { () throws(ValidationError) in try FlagText.byteCount(value, in: 0...Int.max) }
        #expect(message == "\"\(value)\" is not a byte count (e.g. 4194304, 4MiB, 512KiB)")
        #expect(ByteCount(argument: value) == nil)
    }

    @Test("byte counts out of range are refused with the count in bytes; defaults show in binary units")
    func byteCountRangeAndDescription() {
        let message = Self.refusal { () throws(ValidationError) in try FlagText.byteCount("2MiB", in: 1...(1 << 20)) }
        #expect(message == "2097152 bytes is out of range 1...1048576")
        #expect(ByteCount(bytes: 8 << 30).defaultValueDescription == "8GiB")
        #expect(ByteCount(bytes: 256 << 10).defaultValueDescription == "256KiB")
        #expect(ByteCount(bytes: 1000).defaultValueDescription == "1000")
        #expect(ByteCount(bytes: 0).defaultValueDescription == "0")
    }

    @Test("auto, in any case, or the value; the value's refusal stands")
    func autoOr() throws {
        let window = AutoOr.parser(ByteCount.parser(in: 2...(1 << 30)))
        #expect(try window("auto") == .auto)
        #expect(try window(" AUTO ") == .auto)
        #expect(try window("4MiB") == .fixed(ByteCount(bytes: 4 << 20)))
        #expect(throws: ValidationError.self) { try window("2GiB") }
        #expect(AutoOr<Int>(argument: "auto") == .auto && AutoOr<Int>(argument: "12") == .fixed(12))
        #expect(AutoOr<Int>(argument: "soon") == nil)
        #expect(AutoOr<ByteCount>.fixed(ByteCount(bytes: 16 << 20)).defaultValueDescription == "16MiB")
    }

    @Test("names are read in any case: --dup, --protocol, --mode, --clocks, --log-level")
    func namesInAnyCase() {
        #expect(DupMode(argument: "Lasso") == .lasso)
        #expect(LocalProtocol(argument: "UDP") == .udp)
        #expect(ModePreset(argument: "Bulk") == .bulk)
        #expect(ClocksMode(argument: "FIXED") == .fixed)
        #expect(LogLevel(argument: "Debug")?.loggerLevel == .debug)
        #expect(DupMode(argument: "sideways") == nil)
        #expect(DupMode.allValueStrings == ["fling", "lasso", "both", "none"])
    }

    @Test("argument-parser's refusal names the flag and keeps the reason")
    func refusalNamesFlagAndReason() {
        let range = Self.clientRefusal(["--frags", "0:1250"]) ?? ""
        #expect(range.contains("--frags") && range.hasSuffix("payload 0 is out of range 1...1048576"), "\(range)")
        let shape = Self.clientRefusal(["--frags", "abc"]) ?? ""
        #expect(shape.contains("--frags") && shape.contains("is not a payload:mtu pair of whole numbers"), "\(shape)")
        let budget = Self.clientRefusal(["--budget", "soon"]) ?? ""
        #expect(budget.contains("--budget") && budget.contains("auto or a whole number of payloads"), "\(budget)")
        let tick = Self.clientRefusal(["--tick", "-5"]) ?? ""
        #expect(tick.contains("--tick") && tick.hasSuffix("-5 is out of range 0...86400000 ms"), "\(tick)")
        let clocks = Self.clientRefusal(["--clocks", "sometimes"]) ?? ""
        #expect(clocks.contains("--clocks") && clocks.contains("'adaptive'"), "\(clocks)")
        let address = Self.clientRefusal(["--rFling", "127.0.0.1:70000"]) ?? ""
        #expect(address.contains("--rFling") && address.contains("not a number from 0 to 65535"), "\(address)")
    }

    /// The client configuration `arguments` describe, with the preset applied as at run time.
    static func configuration(_ arguments: [String]) throws -> TunnelConfiguration {
        try ClientCommand.parse(arguments).options.withPreset(arguments: arguments).parsedValues(role: .client)
    }

    @Test("the original's spellings give the values they always gave")
    func originalSpellings() throws {
        let configuration = try Self.configuration([
            "--frags", "10000:1250", "--fec", "0", "--retries", "1:-1", "--window", "4MiB", "--conns", "auto",
            "--budget", "auto", "--tick", "50", "--buffer", "40:4", "--congestion", "BBR", "--max-conns", "300",
        ])
        #expect(configuration.payloadBytes == 10000 && configuration.mtuBytes == 1250)
        #expect(configuration.fecDataShards == 0 && configuration.fecParityShards == 0)
        #expect(configuration.retries && configuration.retrySkip == -1)
        #expect(!configuration.autoWindow && configuration.windowBytes == 4 << 20)
        #expect(configuration.autoConnections && configuration.scalesBudget)
        #expect(configuration.tickInterval == .milliseconds(50))
        #expect(configuration.bufferInterval == .milliseconds(40) && configuration.bufferPayloads == 4)
        #expect(!configuration.autoCongestion && configuration.congestionControl == "bbr")
        #expect(configuration.maxConnectionsPerClient == 300 && configuration.poolMaximum == 300)
        let udp = try Self.configuration(["--protocol", "udp"])
        #expect(!udp.retries && udp.retrySkip == -1)
        let fixed = try Self.configuration(["--conns", "8", "--budget", "1", "--window", "auto"])
        #expect(!fixed.autoConnections && fixed.connections == 8)
        #expect(!fixed.scalesBudget && fixed.payloadsPerConnection == 1 && fixed.autoWindow)
    }

    @Test("a preset fills only the flags the command line did not set, in either spelling")
    func presetFillsUnsetFlags() throws {
        let configuration = try Self.configuration(["--mode", "bulk", "--tick", "5", "--window=1MiB"])
        #expect(configuration.tickInterval == .milliseconds(5))
        #expect(configuration.windowBytes == 1 << 20 && !configuration.autoWindow)
        #expect(configuration.tockInterval == .zero && configuration.bufferInterval == .zero)
        #expect(configuration.payloadBytes == 65536 && configuration.payloadsPerConnection == 1024)
        #expect(!configuration.scalesBudget)
        let live = try Self.configuration(["--mode", "live"])
        #expect(live.fecDataShards == 10 && live.fecParityShards == 3 && live.dup == .lasso)
        #expect(live.connections == 26 && !live.autoConnections)
        let stealth = try Self.configuration(["--mode", "stealth", "--conns", "auto"])
        #expect(!stealth.adaptiveClocks && stealth.payloadsPerConnection == 1 && stealth.autoConnections)
    }

    @Test("every preset's values parse", arguments: ModePreset.allCases)
    func presetsParse(preset: ModePreset) throws {
        let configuration = try Self.configuration(["--mode", preset.rawValue, "--rFling", "127.0.0.1:10900"])
        try configuration.validate()
    }

    @Test("--help shows each value's default as the flag takes it")
    func helpShowsDefaults() {
        let help = ClientCommand.helpMessage(columns: 1000)
        for shown in [
            "--frags <frags>", "(default: 10000:1250)", "(default: 250:0)", "(default: 0:0)", "(default: 8GiB)",
            "--conns <conns>", "(default: auto)", "(default: 127.0.0.1:6000)", "(default: 184)", "(default: 30000)",
            "default: fling)", "default: adaptive)", "default: tcp)", "(default: 60)", "default: info)",
        ] {
            #expect(help.contains(shown), "help lacks \(shown)")
        }
    }
}
