import NIOCore

#if canImport(Glibc)
import Glibc
#endif

extension TunnelConnectionHandler {
    /// Whether the connection has bytes the peer's TCP has not acknowledged and has had no
    /// acknowledgement for `threshold`: a blackholed path, which TCP alone would take minutes to
    /// give up on. Read from the kernel (`TCP_INFO`: `tcpi_unacked`, `tcpi_last_ack_recv`); false
    /// where that is not available. Call on the connection's event loop (the answer is at once).
    func isStuck(after threshold: TimeAmount) -> Bool {
        #if os(Linux)
        guard let provider = self.channel as? SocketOptionProvider else { return false }
        var stuck = false
        provider.getTCPInfo().assumeIsolated().whenSuccess { info in
            let sinceAck = TimeAmount.milliseconds(Int64(info.tcpi_last_ack_recv))
            stuck = info.tcpi_unacked > 0 && sinceAck >= threshold
        }
        return stuck
        #else
        return false
        #endif
    }
}
