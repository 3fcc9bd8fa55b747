import NIOCore
import TCSplitterCore
import Testing

/// The hello exchange's decisions, without a socket: greetings, answers, and each refusal named.
@Suite struct HandshakeStateMachineTests {
    static let agreement = TunnelAgreement(
        payloadBytes: 10000, fecDataShards: 0, fecParityShards: 0, localProtocol: .tcp)
    static let client = ClientID(rawValue: 7)
    static func nonce(_ value: UInt64) -> HelloNonce { HelloNonce(high: value, low: value) }

    @Test("an acceptor greets once with its nonce, key requirement and agreement, then accepts a matching hello")
    func acceptorAccepts() {
        var machine = HandshakeStateMachine(side: .acceptor, keyed: true, agreement: Self.agreement)
        let greeting = ServerHello(nonce: Self.nonce(1), requiresProof: true, agreement: Self.agreement)
        #expect(machine.activated(nonce: Self.nonce(1)) == .sendServerHello(greeting))
        #expect(machine.activated(nonce: Self.nonce(2)) == .none)
        #expect(machine.serverNonce == Self.nonce(1))
        let hello = ClientHello(
            kind: .fling, clientID: Self.client, nonce: Self.nonce(3), proof: [1], agreement: Self.agreement)
        #expect(machine.received(clientHello: hello, proofHolds: true) == .accept(hello, serverNonce: Self.nonce(1)))
        #expect(machine.isDone)
    }

    @Test("an acceptor refuses a bad or missing proof, a proof it cannot check, and other settings, each named")
    func acceptorRefuses() {
        func verdict(
            keyed: Bool, proof: [UInt8], holds: Bool, agreement: TunnelAgreement
        ) -> HandshakeStateMachine.Action {
            var machine = HandshakeStateMachine(side: .acceptor, keyed: keyed, agreement: Self.agreement)
            _ = machine.activated(nonce: Self.nonce(1))
            let hello = ClientHello(
                kind: .sync, clientID: Self.client, nonce: Self.nonce(2), proof: proof, agreement: agreement)
            return machine.received(clientHello: hello, proofHolds: holds)
        }
        #expect(
            verdict(keyed: true, proof: [], holds: false, agreement: Self.agreement)
                == .refuse(.key("--key: this end requires a key, the client has none")))
        guard case .refuse(.key(let wrong)) = verdict(keyed: true, proof: [9], holds: false, agreement: Self.agreement)
        else {
            Issue.record("a wrong proof was not refused")
            return
        }
        #expect(wrong.contains("--key differs"))
        guard
            case .refuse(.key(let unexpected)) = verdict(
                keyed: false, proof: [9], holds: false, agreement: Self.agreement)
        else {
            Issue.record("a proof without a key here was not refused")
            return
        }
        #expect(unexpected.contains("the client uses a key, this end none"))
        var udp = Self.agreement
        udp.localProtocol = .udp
        guard case .refuse(.settings(let mismatches)) = verdict(keyed: false, proof: [], holds: false, agreement: udp)
        else {
            Issue.record("a protocol mismatch was not refused")
            return
        }
        #expect(mismatches.map(\.flag) == ["--protocol"])
    }

    @Test("a dialer answers every greeting, even one it refuses, so the server can name the mismatch too")
    func dialerAnswers() {
        let tuning = TunnelConfiguration(role: .client).tuning
        func answer(keyed: Bool, requiresProof: Bool, theirs: TunnelAgreement) -> HandshakeStateMachine.Action {
            var machine = HandshakeStateMachine(
                side: .dialer(.lasso, Self.client, .both), keyed: keyed, agreement: Self.agreement, tuning: tuning)
            #expect(machine.activated(nonce: Self.nonce(9)) == .none)
            return machine.received(
                serverHello: ServerHello(nonce: Self.nonce(1), requiresProof: requiresProof, agreement: theirs),
                nonce: Self.nonce(2))
        }
        let hello = ClientHello(
            kind: .lasso, dup: .both, clientID: Self.client, nonce: Self.nonce(2), tuning: tuning,
            agreement: Self.agreement)
        #expect(
            answer(keyed: true, requiresProof: true, theirs: Self.agreement)
                == .answer(hello, serverNonce: Self.nonce(1), refusal: nil))
        guard case .answer(_, _, .key(let noKey)?) = answer(keyed: false, requiresProof: true, theirs: Self.agreement)
        else {
            Issue.record("a keyed server was not refused by a keyless client")
            return
        }
        #expect(noKey.hasPrefix("--key: the server requires a key"))
        var other = Self.agreement
        other.payloadBytes = 65536
        guard case .answer(_, _, .settings(let mismatches)?) = answer(keyed: false, requiresProof: false, theirs: other)
        else {
            Issue.record("a --frags mismatch was not refused")
            return
        }
        #expect(mismatches.map(\.description) == ["--frags: this end 10000, the peer 65536"])
    }

    @Test("a wrong frame or no hello in time ends the exchange with a protocol error; nothing after counts")
    func protocolErrors() {
        var machine = HandshakeStateMachine(side: .acceptor, keyed: false)
        _ = machine.activated(nonce: Self.nonce(1))
        #expect(machine.received(other: .progress) == .refuse(.protocolError("expected a hello, got a progress frame")))
        #expect(machine.timedOut(after: 5000) == .none)
        var waiting = HandshakeStateMachine(side: .dialer(.sync, Self.client, .fling), keyed: false)
        #expect(waiting.timedOut(after: 5000) == .refuse(.protocolError("no hello within 5000 ms")))
    }
}
