import TCSplitterCore
import Testing

/// The original's flag spellings: whole numbers, `a:b` pairs, byte counts.
@Suite struct FlagValueTests {
    /// The error a parse threw, if it threw a `ConfigurationError`.
    static func error<T>(_ parse: () throws(ConfigurationError) -> T) -> ConfigurationError? {
        do {
            _ = try parse()
            return nil
        } catch {
            return error
        }
    }

    @Test("whole numbers within range parse, with surrounding spaces")
    func integer() throws {
        #expect(try FlagValue.integer("42", flag: "--conns", in: 1...1024) == 42)
        #expect(try FlagValue.integer(" 1 ", flag: "--conns", in: 1...1024) == 1)
        #expect(try FlagValue.integer("1024", flag: "--conns", in: 1...1024) == 1024)
        #expect(try FlagValue.integer("-5", flag: "--x", in: -10...0) == -5)
    }

    @Test("non-numbers and numbers out of range are refused, naming the flag and the range")
    func integerRefused() {
        for value in ["", "abc", "4.5", "1e3", "0x10", "99999999999999999999"] {
            let error = Self.error { () throws(ConfigurationError) in
                try FlagValue.integer(value, flag: "--conns", in: 1...1024)
            }
            #expect(error?.flag == "--conns", "\(value)")
            #expect(error?.message.contains("not a whole number") == true, "\(value)")
        }
        let low = Self.error { () throws(ConfigurationError) in
            try FlagValue.integer("0", flag: "--conns", in: 1...1024, unit: " connections")
        }
        #expect(low == ConfigurationError(flag: "--conns", "0 is out of range 1...1024 connections"))
        let high = Self.error { () throws(ConfigurationError) in
            try FlagValue.integer("1025", flag: "--conns", in: 1...1024)
        }
        #expect(high?.message == "1025 is out of range 1...1024")
    }

    @Test("a:b pairs parse; a single number takes the default second half when there is one")
    func pair() throws {
        let frags = try FlagValue.pair(
            "10000:1250", flag: "--frags", shape: "payload:mtu", first: 1...1_048_576, second: 0...65535)
        #expect(frags == (10000, 1250))
        let fec = try FlagValue.pair(
            "0", flag: "--fec", shape: "data:parity", first: 0...255, second: 0...255, defaultSecond: 0)
        #expect(fec == (0, 0))
        let retries = try FlagValue.pair("1:-1", flag: "--retries", shape: "on:skip", first: 0...1, second: -1...1000)
        #expect(retries == (1, -1))
        let spaced = try FlagValue.pair(
            " 250:4 ", flag: "--buffer", shape: "ms:count", first: 0...60000, second: 0...10000)
        #expect(spaced == (250, 4))
    }

    @Test(
        "malformed pairs are refused with the pair's shape",
        arguments: ["", "10000", "1:2:3", ":5", "5:", "a:b", "1 : 2", "1:x"])
    func pairRefused(value: String) {
        let error = Self.error { () throws(ConfigurationError) in
            try FlagValue.pair(value, flag: "--frags", shape: "payload:mtu", first: 0...100_000, second: 0...100_000)
        }
        #expect(error == ConfigurationError(flag: "--frags", "\"\(value)\" is not a payload:mtu pair of whole numbers"))
    }

    @Test("a half out of range is named by its part of the shape")
    func pairOutOfRange() {
        let first = Self.error { () throws(ConfigurationError) in
            try FlagValue.pair("0:1250", flag: "--frags", shape: "payload:mtu", first: 1...1000, second: 0...2000)
        }
        #expect(first == ConfigurationError(flag: "--frags", "payload 0 is out of range 1...1000"))
        let second = Self.error { () throws(ConfigurationError) in
            try FlagValue.pair("10:3000", flag: "--frags", shape: "payload:mtu", first: 1...1000, second: 0...2000)
        }
        #expect(second == ConfigurationError(flag: "--frags", "mtu 3000 is out of range 0...2000"))
        let defaulted = Self.error { () throws(ConfigurationError) in
            try FlagValue.pair(
                "3", flag: "--fec", shape: "data:parity", first: 0...255, second: 1...255, defaultSecond: 0)
        }
        #expect(defaulted?.message == "parity 0 is out of range 1...255")
    }

    @Test(
        "byte counts take binary suffixes in any case",
        arguments: [
            ("4194304", 4_194_304), ("4MiB", 4 << 20), ("4M", 4 << 20), ("4mb", 4 << 20), ("512KiB", 512 << 10),
            ("512k", 512 << 10), ("1GiB", 1 << 30), ("1g", 1 << 30), ("100b", 100), (" 64KiB ", 64 << 10),
        ] as [(String, Int)]
    )
    func byteCount(value: String, bytes: Int) throws {
        #expect(try FlagValue.byteCount(value, flag: "--window", in: 1...(1 << 40)) == bytes)
    }

    @Test(
        "unknown suffixes, missing digits and overflow are refused",
        arguments: ["", "MiB", "4TiB", "4 MiB", "-4MiB", "4.5MiB", "99999999999999999999G", "9223372036854775807G"])
    func byteCountRefused(value: String) {
        let error = Self.error { () throws(ConfigurationError) in
            try FlagValue.byteCount(value, flag: "--window", in: 0...Int.max)
        }
        #expect(error?.flag == "--window")
        #expect(error?.message.contains("is not a byte count") == true)
    }

    @Test("byte counts out of range are refused with the count in bytes")
    func byteCountOutOfRange() {
        let error = Self.error { () throws(ConfigurationError) in
            try FlagValue.byteCount("2MiB", flag: "--window", in: 1...(1 << 20))
        }
        #expect(error == ConfigurationError(flag: "--window", "2097152 bytes is out of range 1...1048576"))
    }
}
