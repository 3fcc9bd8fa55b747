import NIOCore
import TCSplitterCore
import Testing

/// The server and client hellos, checked against their diagrams with raw bytes.
@Suite struct HelloTests {
    static let nonce = HelloNonce(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF)
    static let nonceBytes: [UInt8] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
    ]

    @Test("a server hello is the 16-byte nonce then one flags byte")
    func serverHelloLayout() {
        let withProof = Frame.serverHello(ServerHello(nonce: Self.nonce, requiresProof: true))
        let bytes: [UInt8] = [0x54, 0x43, 0x02, 0x01, 0x00, 0x00, 0x00, 0x11] + Self.nonceBytes + [0x01]
        #expect(encoded(withProof) == bytes)
        #expect(decodeWhole(bytes) == withProof)

        let withoutProof = Frame.serverHello(ServerHello(nonce: Self.nonce, requiresProof: false))
        #expect(encoded(withoutProof).last == 0x00)
        #expect(decodeWhole(encoded(withoutProof)) == withoutProof)
    }

    @Test("server hello flag bits other than bit 0 are rejected", arguments: [0x02, 0x03, 0x80, 0xFF] as [UInt8])
    func serverHelloUnknownFlags(flags: UInt8) {
        let bytes = envelope(type: 0x01, body: Self.nonceBytes + [flags])
        #expect(decodeError(bytes) == .invalidField("serverHello.flags"))
    }

    @Test("a server hello without its flags byte is malformed")
    func serverHelloShort() {
        let error = decodeError(envelope(type: 0x01, body: Self.nonceBytes))
        guard case .malformedBody(type: 0x01, _) = error else {
            Issue.record("expected malformedBody, got \(String(describing: error))")
            return
        }
    }

    @Test("a client hello is kind, dup mode, client id, nonce, proof length and proof")
    func clientHelloLayout() {
        let hello = ClientHello(
            kind: .fling,
            dup: .both,
            clientID: ClientID(rawValue: 0x0102_0304_0506_0708),
            nonce: Self.nonce,
            proof: [0xDE, 0xAD]
        )
        let body: [UInt8] =
            [0x02, 0x02] + [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08] + Self.nonceBytes + [0x02, 0xDE, 0xAD]
        let bytes: [UInt8] = [0x54, 0x43, 0x02, 0x02, 0x00, 0x00, 0x00, 0x1D] + body
        #expect(body.count == 0x1D)
        #expect(encoded(.clientHello(hello)) == bytes)
        #expect(decodeWhole(bytes) == .clientHello(hello))
    }

    @Test("connection kinds are 1 sync, 2 fling, 3 lasso", arguments: ConnectionKind.allCases)
    func kinds(kind: ConnectionKind) {
        let expected: [ConnectionKind: (UInt8, String)] = [
            .sync: (1, "sync"), .fling: (2, "fling"), .lasso: (3, "lasso"),
        ]
        #expect(kind.rawValue == expected[kind]?.0)
        #expect(kind.description == expected[kind]?.1)
        let hello = Frame.clientHello(ClientHello(kind: kind, clientID: ClientID(rawValue: 1), nonce: Self.nonce))
        #expect(encoded(hello)[8] == kind.rawValue)
        #expect(decodeWhole(encoded(hello)) == hello)
    }

    @Test("an unknown connection kind is rejected", arguments: [0, 4, 0xFF] as [UInt8])
    func unknownKind(kind: UInt8) {
        let body = [kind, 0x00] + be(UInt64(1)) + Self.nonceBytes + [0x00]
        #expect(decodeError(envelope(type: 0x02, body: body)) == .invalidField("clientHello.kind"))
    }

    @Test("dup modes are 0 fling, 1 lasso, 2 both, 3 none", arguments: DupMode.allCases)
    func dupModes(dup: DupMode) {
        let expected: [DupMode: UInt8] = [.fling: 0, .lasso: 1, .both: 2, .none: 3]
        #expect(dup.wireValue == expected[dup])
        let hello = Frame.clientHello(
            ClientHello(kind: .fling, dup: dup, clientID: ClientID(rawValue: 1), nonce: Self.nonce))
        #expect(encoded(hello)[9] == dup.wireValue)
        #expect(decodeWhole(encoded(hello)) == hello)
    }

    @Test("an unknown dup mode is rejected", arguments: [4, 0x80, 0xFF] as [UInt8])
    func unknownDup(dup: UInt8) {
        let body = [0x02, dup] + be(UInt64(1)) + Self.nonceBytes + [0x00]
        #expect(decodeError(envelope(type: 0x02, body: body)) == .invalidField("clientHello.dup"))
    }

    @Test("a proof of 64 bytes is accepted and one of 65 is rejected by its length field")
    func proofLimit() {
        let longest = Frame.clientHello(
            ClientHello(
                kind: .sync, clientID: ClientID(rawValue: 1), nonce: Self.nonce, proof: Array(repeating: 7, count: 64))
        )
        #expect(decodeWhole(encoded(longest)) == longest)

        let body = [0x01, 0x00] + be(UInt64(1)) + Self.nonceBytes + [65] + Array(repeating: 7, count: 65)
        #expect(decodeError(envelope(type: 0x02, body: body)) == .invalidField("clientHello.proofLength"))
    }

    @Test("a proof shorter than its length field is malformed, and an empty proof is fine")
    func proofShortAndEmpty() {
        let short = [0x01, 0x00] + be(UInt64(1)) + Self.nonceBytes + [10] + [1, 2, 3]
        let error = decodeError(envelope(type: 0x02, body: short))
        guard case .malformedBody(type: 0x02, _) = error else {
            Issue.record("expected malformedBody, got \(String(describing: error))")
            return
        }
        let empty = [0x03, 0x01] + be(UInt64(9)) + Self.nonceBytes + [0]
        #expect(
            decodeWhole(envelope(type: 0x02, body: empty))
                == .clientHello(
                    ClientHello(kind: .lasso, dup: .lasso, clientID: ClientID(rawValue: 9), nonce: Self.nonce))
        )
    }

    @Test("bytes after the proof that are not a whole tuning and agreement are malformed")
    func clientHelloTrailing() {
        let body = [0x01, 0x00] + be(UInt64(1)) + Self.nonceBytes + [1, 0xAA, 0xBB]
        #expect(decodeError(envelope(type: 0x02, body: body)) == .malformedBody(type: 0x02, length: 1))
        let declared = [UInt8](repeating: 0, count: 29) + [0, 0, 0x27, 0x10, 0, 0, 0]
        let whole = [0x01, 0x00] + be(UInt64(1)) + Self.nonceBytes + [0] + declared
        #expect(decodeWhole(envelope(type: 0x02, body: whole)) != nil)
        #expect(
            decodeError(envelope(type: 0x02, body: whole + [0xEE]))
                == .malformedBody(type: 0x02, length: whole.count + 1))
    }

    @Test("random nonces and client ids differ from draw to draw")
    func randomness() {
        let nonces = Set((0..<16).map { _ in HelloNonce.random() })
        #expect(nonces.count == 16)
        let clients = Set((0..<16).map { _ in ClientID.random() })
        #expect(clients.count == 16)
        #expect(!clients.contains(ClientID(rawValue: 0)))
    }

    @Test("a client id prints as sixteen hex digits")
    func clientIDDescription() {
        #expect(ClientID(rawValue: 0xABC).description == "0000000000000abc")
    }
}
