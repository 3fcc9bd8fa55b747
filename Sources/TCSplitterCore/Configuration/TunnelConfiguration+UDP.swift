import NIOCore

extension TunnelConfiguration {
    /// The rules `--protocol udp` adds: payloads with room for chunk headers, a window that
    /// holds the largest datagram twice over, and an idle timeout.
    func validateUDP() throws(ConfigurationError) {
        guard self.payloadBytes >= DatagramChunk.minPayloadBytes else {
            throw ConfigurationError(
                flag: "--frags",
                "payload \(self.payloadBytes) is below \(DatagramChunk.minPayloadBytes) bytes, the least --protocol udp frames datagrams in"
            )
        }
        let largest = DatagramChunk.maxFramedBytes(payloadBytes: self.payloadBytes)
        guard self.windowBytes >= 2 * largest else {
            throw ConfigurationError(
                flag: "--window",
                "\(self.windowBytes) bytes must hold the largest framed datagram twice (\(2 * largest)) with --protocol udp"
            )
        }
        guard self.udpIdleTimeout > .zero else {
            throw ConfigurationError(flag: "--udp-idle-timeout", "must be at least 1 second")
        }
    }
}
