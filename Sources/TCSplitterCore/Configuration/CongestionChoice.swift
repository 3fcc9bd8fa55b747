/// `--congestion auto`: which TCP congestion control the tunnel's own connections use, from what
/// the kernel offers. bbr keeps a long, lossy path full where loss-based algorithms (cubic, reno)
/// back off at every drop; the end hosts keep theirs.
public enum CongestionChoice {
    /// The choice and why, logged once at start.
    public struct Decision: Hashable, Sendable {
        /// The algorithm to set on each tunnel socket; `nil` keeps the system's default.
        public var name: String?
        /// One sentence for the log.
        public var reason: String
    }

    /// bbr when `allowed` (`net.ipv4.tcp_allowed_congestion_control`, what an unprivileged
    /// process may set) lists it, or when the process is `privileged` (CAP_NET_ADMIN may set any
    /// algorithm, and the kernel loads tcp_bbr on demand; where it has none, the first socket's
    /// refusal is logged and the default stays); the system's `systemDefault` otherwise.
    public static func auto(allowed: [String], systemDefault: String?, privileged: Bool) -> Decision {
        let current = systemDefault ?? "the system's"
        if systemDefault == "bbr" {
            return Decision(name: nil, reason: "bbr (the system's default)")
        }
        if allowed.contains("bbr") {
            return Decision(name: "bbr", reason: "bbr (net.ipv4.tcp_allowed_congestion_control allows it)")
        }
        if privileged {
            return Decision(name: "bbr", reason: "bbr (this process may set any algorithm the kernel has)")
        }
        return Decision(
            name: nil,
            reason:
                "\(current) (bbr is not allowed here: add it to net.ipv4.tcp_allowed_congestion_control, see sysctl.dirty, or pass --congestion)"
        )
    }
}
