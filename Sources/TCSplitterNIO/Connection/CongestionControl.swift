import Logging
import NIOConcurrencyHelpers
import NIOCore
import TCSplitterCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The TCP congestion control of the tunnel's own connections (`--congestion`): `TCP_CONGESTION`
/// set on each tunnel socket, so a lossy long path can use bbr while the end hosts keep theirs.
public enum CongestionControl {
    /// `TCP_CONGESTION` (linux/tcp.h).
    static let option: CInt = 13
    /// The kernel's limit on a name, with its terminating zero (`TCP_CA_NAME_MAX`).
    typealias Name = (
        CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar
    )

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
        provider.unsafeSetSocketOption(
            level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(Self.option), value: value
        )
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

    /// `--congestion auto`'s choice on this machine, from `/proc/sys/net/ipv4` (read once, at
    /// start): bbr where allowed, else the system's default.
    public static func autoChoice() -> CongestionChoice.Decision {
        func words(_ name: String) -> [String] {
            guard let file = fopen("/proc/sys/net/ipv4/" + name, "r") else { return [] }
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 1024)
            guard fgets(&buffer, Int32(buffer.count), file) != nil else { return [] }
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return line.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        }
        return CongestionChoice.auto(
            allowed: words("tcp_allowed_congestion_control"),
            systemDefault: words("tcp_congestion_control").first,
            privileged: geteuid() == 0
        )
    }
}
