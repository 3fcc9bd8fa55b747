/// `--mode`: a named set of the tuning flags, in the spirit of kcptun's `--mode fast2`, for users
/// who would rather not tune eight flags. A flag given explicitly on the command line overrides
/// the preset's value. Give both ends the same mode (frags and fec must agree).
public enum ModePreset: String, Hashable, Sendable, CaseIterable {
    /// The original's short-lived behaviour: one payload per connection, the original clocks
    /// (fixed: every partial payload waits for the tock, whatever is in flight).
    case stealth
    /// Throughput on clean or per-flow-capped links: event-driven, long-lived connections, large
    /// payloads and window.
    case bulk
    /// Long, lossy paths (satellite, intercontinental): bulk with bbr on the tunnel's connections
    /// and 16 of them, so one loss slows one connection's share only.
    case lossy
    /// Lowest latency (ssh, games): event-driven, downstream on lasso connections of its own.
    case interactive
    /// Steady playout (live video): a short tock, a jitter buffer released at the arrival rate,
    /// FEC so a lost connection costs no stall.
    case live

    /// The flags the preset sets, as `(flag, value)` pairs in command-line spelling.
    public var flags: [(flag: String, value: String)] {
        switch self {
        case .stealth:
            return [
                ("--budget", "1"), ("--tick", "50"), ("--tock", "250"), ("--buffer", "250:0"), ("--clocks", "fixed"),
                ("--frags", "10000:1250"), ("--conns", "4"),
            ]
        case .bulk:
            return [
                ("--tick", "0"), ("--tock", "0"), ("--buffer", "0"), ("--budget", "1024"), ("--window", "16MiB"),
                ("--frags", "65536:1250"),
            ]
        case .lossy:
            return [
                ("--tick", "0"), ("--tock", "0"), ("--buffer", "0"), ("--budget", "1024"), ("--window", "32MiB"),
                ("--frags", "65536:1250"), ("--conns", "16"), ("--congestion", "bbr"),
            ]
        case .interactive:
            return [("--tick", "0"), ("--tock", "0"), ("--buffer", "0"), ("--dup", "lasso")]
        case .live:
            return [
                ("--tick", "0"), ("--tock", "20"), ("--buffer", "40:4"), ("--fec", "10:3"), ("--conns", "26"),
                ("--dup", "lasso"),
            ]
        }
    }

    /// One line per preset for `--help` and the README.
    public var summary: String {
        self.rawValue + ": " + self.flags.map { "\($0.flag) \($0.value)" }.joined(separator: " ")
    }

    /// The preset's flags that `arguments` (the command line) does not set itself.
    public func flags(notSetIn arguments: [String]) -> [(flag: String, value: String)] {
        self.flags.filter { pair in
            !arguments.contains { $0 == pair.flag || $0.hasPrefix(pair.flag + "=") }
        }
    }
}
