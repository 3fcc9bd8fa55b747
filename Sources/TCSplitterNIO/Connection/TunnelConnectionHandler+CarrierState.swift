import NIOCore
import TCSplitterCore

#if canImport(Glibc)
import Glibc
#endif

extension TunnelConnectionHandler {
    /// What the kernel says of this connection's sending (`TCP_INFO`: `tcpi_ca_state`,
    /// `tcpi_backoff`, `tcpi_unacked`, `tcpi_last_ack_recv`), for `ResendPolicy`; `nil` where that
    /// is not available. Call on the connection's event loop (the answer is at once).
    var resendCarrierState: ResendPolicy.Carrier? {
        #if os(Linux)
        guard let provider = self.channel as? SocketOptionProvider else { return nil }
        var state: ResendPolicy.Carrier?
        provider.getTCPInfo().assumeIsolated().whenSuccess { info in
            state = ResendPolicy.Carrier(
                recoveringByTimeout: info.tcpi_ca_state == Self.caStateLoss || info.tcpi_backoff > 0,
                unacknowledged: info.tcpi_unacked > 0,
                sinceLastAck: .milliseconds(Int64(info.tcpi_last_ack_recv)))
        }
        return state
        #else
        return nil
        #endif
    }

    /// `TCP_CA_Loss` (linux/tcp.h): recovering from a retransmission timeout.
    private static let caStateLoss: UInt8 = 4
}
