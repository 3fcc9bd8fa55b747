import Logging
import NIOCore
import TCSplitterCore

/// The hello exchange of one tunnel connection: `HandshakeStateMachine` decides; this executes
/// its actions and does the key's cryptography (proofs and the cipher), which stays out of Core.
extension TunnelConnectionHandler {
    func becameActive(context: ChannelHandlerContext) {
        guard self.helloTimer == nil, self.state == .awaitingHello else { return }
        self.execute(self.handshake.activated(nonce: .random()))
        self.helloTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.helloTimeout) {
            guard self.state == .awaitingHello else { return }
            self.execute(self.handshake.timedOut(after: self.helloTimeout.milliseconds))
        }
    }

    func receiveHello(_ frame: Frame) {
        switch frame {
        case .serverHello(let hello):
            self.execute(self.handshake.received(serverHello: hello, nonce: .random()))
        case .clientHello(let hello):
            // The proof is checked here (the key stays out of Core); the machine decides.
            var holds = false
            if let key = self.security.key, let serverNonce = self.handshake.serverNonce {
                holds = key.verify(
                    proof: hello.proof, serverNonce: serverNonce, clientNonce: hello.nonce, kind: hello.kind,
                    dup: hello.dup, clientID: hello.clientID, declared: hello.declaredBytes)
            }
            self.execute(self.handshake.received(clientHello: hello, proofHolds: holds))
        default:
            self.execute(self.handshake.received(other: frame.type))
        }
    }

    /// Carries out what the hello exchange decided.
    func execute(_ action: HandshakeStateMachine.Action) {
        switch action {
        case .none:
            break
        case .sendServerHello(let hello):
            self.write(frame: .serverHello(hello), flush: true)
        case .answer(var hello, let serverNonce, let refusal):
            self.clientNonce = hello.nonce
            if let key = self.security.key {
                hello.proof = key.proof(
                    serverNonce: serverNonce, clientNonce: hello.nonce, kind: hello.kind, dup: hello.dup,
                    clientID: hello.clientID, declared: hello.declaredBytes)
            }
            self.write(frame: .clientHello(hello), flush: true)
            if let refusal { return self.refuse(refusal) }
            if let key = self.security.key {
                self.security.cipher = key.cipher(serverNonce: serverNonce, clientNonce: hello.nonce, isClient: true)
            }
            self.becomeReady(hello: nil)
        case .accept(let hello, let serverNonce):
            if let key = self.security.key {
                self.security.cipher = key.cipher(serverNonce: serverNonce, clientNonce: hello.nonce, isClient: false)
            }
            self.kind = hello.kind
            self.dup = hello.dup
            self.clientNonce = hello.nonce
            self.clientID = hello.clientID
            self.becomeReady(hello: hello)
        case .refuse(let refusal):
            self.refuse(refusal)
        }
    }

    func refuse(_ refusal: HandshakeStateMachine.Refusal) {
        switch refusal {
        case .key(let message):
            self.keyMismatch(message)
        case .settings(let mismatches):
            if self.failure == nil { self.failure = "\(refusal)" }
            self.delegate?.connection(self, disagrees: mismatches)
            self.close()
        case .protocolError(let message):
            self.protocolError(message)
        }
    }

    /// The ends' keys differ: logged at error level (rate-limited like other bad input) and the
    /// connection closed.
    func keyMismatch(_ message: String) {
        if self.failure == nil { self.failure = message }
        self.badInput.log(self.logger, "refusing the peer: \(message)", metadata: self.metadata, level: .error)
        self.close()
    }

    func becomeReady(hello: ClientHello?) {
        self.helloTimer?.cancel()
        self.helloTimer = nil
        self.state = .active
        self.dataState.handshakeCompleted()
        self.delegate?.connectionReady(self, hello: hello)
    }
}
