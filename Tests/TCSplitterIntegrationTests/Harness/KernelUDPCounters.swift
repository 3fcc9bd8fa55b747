import Foundation

/// The kernel's UDP drop counters (`/proc/net/snmp` and `/proc/net/snmp6`), read before and
/// after a UDP test so a failure says whether loopback's socket buffers dropped datagrams
/// outside the tunnel (which the tunnel cannot see or recover) or the tunnel lost them.
struct KernelUDPCounters: Equatable, CustomStringConvertible {
    /// Datagrams dropped because a receiving socket's buffer was full, IPv4 + IPv6.
    var receiveBufferErrors = 0
    /// Datagrams dropped on receipt for any reason, IPv4 + IPv6.
    var inErrors = 0

    /// The counters now; zero where the files cannot be read (not Linux, no /proc).
    static func read() -> KernelUDPCounters {
        var counters = KernelUDPCounters()
        if let snmp = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) {
            // Two "Udp:" lines: the names, then the values, each after the "Udp:" tag.
            let rows = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }.map {
                $0.split(separator: " ").dropFirst()
            }
            if rows.count >= 2 {
                let fields = Dictionary(
                    zip(rows[0].map(String.init), rows[1].map { Int($0) ?? 0 }), uniquingKeysWith: { a, _ in a })
                counters.receiveBufferErrors += fields["RcvbufErrors"] ?? 0
                counters.inErrors += fields["InErrors"] ?? 0
            }
        }
        if let snmp6 = try? String(contentsOfFile: "/proc/net/snmp6", encoding: .utf8) {
            for line in snmp6.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count == 2, let value = Int(parts[1]) else { continue }
                if parts[0] == "Udp6RcvbufErrors" { counters.receiveBufferErrors += value }
                if parts[0] == "Udp6InErrors" { counters.inErrors += value }
            }
        }
        return counters
    }

    /// What changed since `earlier`.
    func since(_ earlier: KernelUDPCounters) -> KernelUDPCounters {
        KernelUDPCounters(
            receiveBufferErrors: self.receiveBufferErrors - earlier.receiveBufferErrors,
            inErrors: self.inErrors - earlier.inErrors
        )
    }

    var description: String {
        "kernel UDP drops on this host during the test: \(self.receiveBufferErrors) for full socket buffers, \(self.inErrors) receive errors in all (any process)"
    }
}
