import NIOCore
import TCSplitterCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a connection redirected to the client end was originally headed (`--transparent`).
///
/// Under REDIRECT (DNAT to this host), netfilter's conntrack keeps the original destination and
/// `getsockopt(SO_ORIGINAL_DST)` (IPv4) or `getsockopt(IP6T_SO_ORIGINAL_DST)` (IPv6) returns it.
/// Under TPROXY the connection is not rewritten: its local address is the original destination.
/// A connection that was neither (dialed straight to `--listen`) has no original destination.
enum OriginalDestination {
    /// `SO_ORIGINAL_DST` and `IP6T_SO_ORIGINAL_DST` (linux/netfilter_ipv4.h, netfilter_ipv6/ip6_tables.h).
    static let originalDestinationOption: CInt = 80
    /// `IP_TRANSPARENT` (linux/in.h): lets a listener accept TPROXY'd connections.
    static let ipTransparentOption: CInt = 19

    /// The original destination of `channel`, accepted by a listener bound to `listener`; `nil`
    /// if it was not redirected.
    static func read(_ channel: Channel, listener: SocketAddress?) -> EventLoopFuture<SessionDestination?> {
        let eventLoop = channel.eventLoop
        guard let provider = channel as? SocketOptionProvider, let local = channel.localAddress else {
            return eventLoop.makeSucceededFuture(nil)
        }
        let underTProxy = Self.tproxyDestination(local: local, listener: listener)
        switch local {
        case .v4:
            let option: EventLoopFuture<sockaddr_in> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(Self.originalDestinationOption))
            return option.map { address in
                Self.redirected(SocketAddress(address, host: ""), local: local) ?? underTProxy
            }.recover { _ in underTProxy }
        case .v6:
            let option: EventLoopFuture<sockaddr_in6> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(Self.originalDestinationOption))
            return option.map { address in
                Self.redirected(SocketAddress(address, host: ""), local: local) ?? underTProxy
            }.recover { _ in underTProxy }
        default:
            return eventLoop.makeSucceededFuture(nil)
        }
    }

    /// Lets `listener` accept TPROXY'd connections (needs CAP_NET_ADMIN). Returns whether it could.
    static func allowTProxy(on listener: Channel) -> EventLoopFuture<Bool> {
        guard let provider = listener as? SocketOptionProvider else {
            return listener.eventLoop.makeSucceededFuture(false)
        }
        let level: CInt = listener.localAddress?.protocol == .inet6 ? CInt(IPPROTO_IPV6) : CInt(IPPROTO_IP)
        // IPV6_TRANSPARENT is 75; IP_TRANSPARENT 19.
        let name: CInt = level == CInt(IPPROTO_IPV6) ? 75 : Self.ipTransparentOption
        return provider.unsafeSetSocketOption(
            level: SocketOptionLevel(level), name: SocketOptionName(name), value: CInt(1)
        )
        .map { true }.recover { _ in false }
    }

    /// A conntrack answer that differs from the socket's own address (REDIRECT rewrote it).
    private static func redirected(_ original: SocketAddress, local: SocketAddress) -> SessionDestination? {
        guard original != local, original.port != 0 else { return nil }
        return SessionDestination(original)
    }

    /// Under TPROXY the socket's local address is the destination: any address other than the
    /// listener's own.
    private static func tproxyDestination(local: SocketAddress, listener: SocketAddress?) -> SessionDestination? {
        guard let listener else { return nil }
        let sameAddress = SessionDestination.bytes(of: local) == SessionDestination.bytes(of: listener)
        let wildcard = SessionDestination.bytes(of: listener).map { $0.allSatisfy { $0 == 0 } } ?? false
        if local.port == listener.port && (sameAddress || wildcard) { return nil }
        return SessionDestination(local)
    }
}
