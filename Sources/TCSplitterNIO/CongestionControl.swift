#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The TCP congestion control of the tunnel's own connections (`--congestion`): `TCP_CONGESTION`
/// set on each tunnel socket, so a lossy long path can use bbr while the end hosts keep theirs.
enum CongestionControl {
    /// `TCP_CONGESTION` (linux/tcp.h).
    static let option: CInt = 13
    /// The kernel's limit on a name, with its terminating zero (`TCP_CA_NAME_MAX`).
    typealias Name = (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)

    /// Whether the failure was logged already (once per process is enough).
    private static let warned = NIOLockedValueBox(false)

    /// Sets `name` on `channel`'s socket; a name the kernel refuses (its module is not loaded, or
    /// not allowed) leaves the system default and is logged once.
    static func apply(_ name: String, to channel: Channel, logger: Logger) {
        guard let provider = channel as? SocketOptionProvider else { return }
        var value: Name = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { bytes in
            for (index, byte) in name.utf8.prefix(15).enumerated() { bytes[index] = byte }
        }
        provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(Self.option), value: value)
            .whenFailure { error in
                let first = Self.warned.withLockedValue { warned in
                    defer { warned = true }
                    return !warned
                }
                if first {
                    logger.warning(
                        "congestion control \(name) unavailable (\(error)); tunnel connections keep the system default (see sysctl net.ipv4.tcp_available_congestion_control, modprobe tcp_\(name))"
                    )
                }
            }
    }
}
