import Logging
import NIOCore

extension TunnelSession {
    /// What the line that ends a session says besides its id and local address (already in the
    /// logger's metadata): stream bytes each way and how long it lived.
    var endMetadata: Logger.Metadata {
        [
            "sent": "\(self.send.packedOffset)",
            "received": "\(self.receive.consumedOffset)",
            "ms": "\((self.now - self.openedAt).milliseconds)",
        ]
    }

    /// `ip:port` of the local socket's peer (the application on the client, the `--forward`
    /// service on the server), for the session's log lines.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
