/// The hello exchange of one tunnel connection, as decisions: what to send, and whether the peer
/// is accepted or refused (and why). The connection handler executes the actions; the key's
/// cryptography (proofs, ciphers) stays with it, and it tells the machine whether a proof held.
///
/// ```
///  acceptor: activated ─▶ send ServerHello ─▶ ClientHello ─┬─▶ ready(hello)
///                                                           └─▶ refuse(key | settings)
///  dialer:   ServerHello ─▶ answer ClientHello, then ─┬─▶ ready
///                                                      └─▶ refuse(key | settings)
///  either:   any other frame while waiting ─▶ refuse(protocol);  timeout ─▶ refuse(protocol)
/// ```
///
/// A dialer answers even a server it will refuse, so the server can name the mismatch too.
public struct HandshakeStateMachine: Sendable {
    /// Which side of the hello this end plays.
    public enum Side: Hashable, Sendable {
        /// The client end, which dialed the connection for `kind` with its `dup` mode.
        case dialer(ConnectionKind, ClientID, DupMode)
        /// The server end, which learns the kind from the client's hello.
        case acceptor
    }

    /// Why a peer is refused; the text names the flag where one is at fault.
    public enum Refusal: Hashable, Sendable, CustomStringConvertible {
        /// The ends' keys differ (or one has none).
        case key(String)
        /// Settings both ends must share differ.
        case settings([TunnelAgreement.Mismatch])
        /// Not a tunnel peer speaking this protocol (a wrong frame, no hello in time).
        case protocolError(String)

        /// The sentence for the log.
        public var description: String {
            switch self {
            case .key(let message): return message
            case .settings(let mismatches): return "settings differ: \(mismatches.map(\.description))"
            case .protocolError(let message): return message
            }
        }
    }

    /// What the handler does next.
    public enum Action: Hashable, Sendable {
        /// Nothing.
        case none
        /// Acceptor: send this greeting.
        case sendServerHello(ServerHello)
        /// Dialer: send this hello (with the key proof added, when keyed), then `ready` or refuse.
        case answer(ClientHello, serverNonce: HelloNonce, refusal: Refusal?)
        /// Acceptor: the client is accepted (its hello, and the nonce this end greeted with,
        /// which keys the connection's cipher).
        case accept(ClientHello, serverNonce: HelloNonce)
        /// Close the connection, for this reason.
        case refuse(Refusal)
    }

    private enum State: Hashable, Sendable {
        case waiting(serverNonce: HelloNonce?)
        case done
    }

    /// This end's side.
    public let side: Side
    /// Whether this end has a pre-shared key.
    public let keyed: Bool
    /// The settings this end declares and checks (`nil`: none are compared).
    public let agreement: TunnelAgreement?
    /// The dialer's tuning, declared in its hello.
    public let tuning: ClientTuning?
    private var state = State.waiting(serverNonce: nil)

    /// A machine for one connection.
    public init(side: Side, keyed: Bool, agreement: TunnelAgreement? = nil, tuning: ClientTuning? = nil) {
        self.side = side
        self.keyed = keyed
        self.agreement = agreement
        self.tuning = tuning
    }

    /// Whether the exchange is over (accepted or refused).
    public var isDone: Bool { self.state == .done }

    /// The connection is up; `nonce` is a fresh one for an acceptor's greeting.
    public mutating func activated(nonce: HelloNonce) -> Action {
        guard case .acceptor = self.side, case .waiting(nil) = self.state else { return .none }
        self.state = .waiting(serverNonce: nonce)
        return .sendServerHello(ServerHello(nonce: nonce, requiresProof: self.keyed, agreement: self.agreement))
    }

    /// The server nonce an acceptor greeted with (its key proofs cover it).
    public var serverNonce: HelloNonce? {
        if case .waiting(let nonce) = self.state { return nonce }
        return nil
    }

    /// A dialer got the server's greeting; `nonce` is a fresh one for its answer.
    public mutating func received(serverHello hello: ServerHello, nonce: HelloNonce) -> Action {
        guard case .dialer(let kind, let client, let dup) = self.side, case .waiting = self.state else {
            return self.unexpected("a serverHello frame")
        }
        self.state = .done
        let answer = ClientHello(
            kind: kind, dup: dup, clientID: client, nonce: nonce, tuning: self.tuning, agreement: self.agreement)
        var refusal: Refusal? = nil
        if self.keyed && !hello.requiresProof {
            refusal = .key("--key: this end uses a key, the server none (is it the right server?)")
        } else if !self.keyed && hello.requiresProof {
            refusal = .key(
                "--key: the server requires a key, this end has none (give the same --key, --key-file or TCSPLITTER_KEY to both ends)"
            )
        } else if let mismatches = self.mismatches(with: hello.agreement) {
            refusal = .settings(mismatches)
        }
        return .answer(answer, serverNonce: hello.nonce, refusal: refusal)
    }

    /// An acceptor got the client's hello; `proofHolds` is whether its key proof verified
    /// (ignored without a key).
    public mutating func received(clientHello hello: ClientHello, proofHolds: Bool) -> Action {
        guard case .acceptor = self.side, case .waiting(.some(let serverNonce)) = self.state else {
            return self.unexpected("a clientHello frame")
        }
        self.state = .done
        if self.keyed && !proofHolds {
            return .refuse(
                .key(
                    hello.proof.isEmpty
                        ? "--key: this end requires a key, the client has none"
                        : "--key: a hello without a valid key proof (the client's --key differs from this end's, or the hello was replayed)"
                ))
        }
        if !self.keyed && !hello.proof.isEmpty {
            return .refuse(.key("--key: the client uses a key, this end none (give the same key to both ends)"))
        }
        if let mismatches = self.mismatches(with: hello.agreement) {
            return .refuse(.settings(mismatches))
        }
        return .accept(hello, serverNonce: serverNonce)
    }

    /// A frame that is not the hello this side waits for.
    public mutating func received(other type: FrameType) -> Action {
        self.unexpected("a \(type) frame")
    }

    /// The hello timeout fired.
    public mutating func timedOut(after milliseconds: Int64) -> Action {
        guard case .waiting = self.state else { return .none }
        self.state = .done
        return .refuse(.protocolError("no hello within \(milliseconds) ms"))
    }

    /// Where the peer's declared settings differ from this end's; `nil` when they agree (or
    /// either side declared none).
    private func mismatches(with theirs: TunnelAgreement?) -> [TunnelAgreement.Mismatch]? {
        guard let mine = self.agreement, let theirs else { return nil }
        let mismatches = mine.mismatches(with: theirs)
        return mismatches.isEmpty ? nil : mismatches
    }

    private mutating func unexpected(_ what: String) -> Action {
        self.state = .done
        return .refuse(.protocolError("expected a hello, got \(what)"))
    }
}
