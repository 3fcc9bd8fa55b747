import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Channel {
    /// Closes with a TCP reset (SO_LINGER 0) instead of a FIN, so the peer application sees an
    /// error and never takes a cut stream for a complete one.
    package func closeWithReset() {
        guard let provider = self as? SocketOptionProvider else {
            self.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            self.close(promise: nil)
        }
    }
}

extension ChannelOptions {
    /// The IP type-of-service byte (`IP_TOS`), for DSCP marking of tunnel connections.
    static var ipTypeOfService: ChannelOptions.Types.SocketOption {
        .ipOption(.init(rawValue: Int32(IP_TOS)))
    }
}
