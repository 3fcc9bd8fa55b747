import Logging
import NIOCore
import TCSplitterCore

/// What the client end does with its connections' events: the sync connection coming and going
/// (with the failures that make local connections fail fast), data connections joining and
/// leaving the pools, and a server whose settings differ.
extension TunnelClient: TunnelConnectionDelegate {
    func connectionReady(_ connection: TunnelConnectionHandler, hello: ClientHello?) {
        switch connection.kind {
        case .sync:
            // Failures are forgotten once the server answers on it (`received message`): a
            // server that refuses the hello closes it without a word.
            if self.settingsRefused {
                self.settingsRefused = false
                self.replenishPools()
            }
            self.logger.info(
                "connected to the server",
                metadata: ["sync": "\(connection.channel?.remoteAddress.map { "\($0)" } ?? "?")"])
            self.link.attachSync(connection)
        default:
            self.link.dataConnectionReady(connection)
        }
    }

    func connection(_ connection: TunnelConnectionHandler, received payload: PayloadFrame) {
        self.link.received(payload: payload)
    }

    func connection(_ connection: TunnelConnectionHandler, received message: ControlMessage) {
        guard connection === self.link.sync else { return }
        self.syncFailures = 0
        if case .replace(let nonce) = message {
            // The server nears the end of its budget on that connection: dial its replacement
            // now; the old one goes on until it is spent.
            self.link.syncFrameReceived()
            if let old = self.link.dataConnections.values.first(where: { $0.clientNonce == nonce }) {
                self.poolMemberGone(old)
            }
            return
        }
        self.link.route(message)
    }

    func connectionNearlySpent(_ connection: TunnelConnectionHandler) {
        // The client knows its own budgets: its pool replaces the connection when it retires.
    }

    func connectionAvailabilityChanged(_ connection: TunnelConnectionHandler) {
        self.link.dispatcher.drain()
    }

    func connectionRetired(_ connection: TunnelConnectionHandler) {
        self.link.dataConnectionRetired(connection)
        self.poolMemberGone(connection)
    }

    func connectionClosed(_ connection: TunnelConnectionHandler) {
        if connection.kind == .sync {
            let wasUp = self.link.sync === connection
            self.link.syncClosed(connection)
            guard !self.stopped else { return }
            if wasUp && connection.framesAfterHello == 0 {
                // Closed by the server before a single frame: it refused the hello. Only the key
                // proof is checked without a word back.
                self.syncAttemptFailed(
                    "the server closed the sync connection right after its hello: is --key (or the key file) the same on both ends?"
                )
            } else if wasUp {
                self.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { self.dialSync() }
            } else {
                // Closed before its hello completed (settings refused, wrong key, not a tunnel
                // server): a failed dial, retried with backoff; the handler said why.
                self.syncAttemptFailed(nil)
            }
            return
        }
        self.link.dataConnectionClosed(connection)
        self.poolMemberGone(connection)
    }

    func connection(_ connection: TunnelConnectionHandler, disagrees mismatches: [TunnelAgreement.Mismatch]) {
        let first = !self.settingsRefused
        self.settingsRefused = true
        let message =
            "the server's settings differ from this end's, so it cannot be used: \(mismatches.map(\.description).joined(separator: "; ")) (these flags must be the same on both ends)"
        if first { self.logger.error("\(message)") } else { self.logger.debug("\(message)") }
    }
}
