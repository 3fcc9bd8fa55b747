import NIOCore

/// What a client-dialed connection is for, declared in its hello.
public enum ConnectionKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The persistent control connection: session open/close, acknowledgements, keepalive.
    case sync = 1
    /// A short-lived data connection dialed for upstream payloads (and downstream ones in fling mode).
    case fling = 2
    /// A data connection the server holds to push downstream payloads.
    case lasso = 3

    /// The lower-case name used in logs and flags.
    public var description: String {
        switch self {
        case .sync: return "sync"
        case .fling: return "fling"
        case .lasso: return "lasso"
        }
    }
}

/// 128 random bits that make a hello fresh.
public struct HelloNonce: Hashable, Sendable {
    /// The first 64 bits, as sent.
    public var high: UInt64
    /// The last 64 bits, as sent.
    public var low: UInt64

    /// A nonce from two values.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A fresh nonce from the system's cryptographic generator.
    public static func random() -> HelloNonce {
        var generator = SystemRandomNumberGenerator()
        return HelloNonce(high: generator.next(), low: generator.next())
    }
}

/// Identifies one running client end, so the server sends a session's data only on connections
/// of the client that opened it.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    /// The 64 random bits.
    public var rawValue: UInt64

    /// Wraps a value read from the wire.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// A fresh random id.
    public static func random() -> ClientID {
        ClientID(rawValue: SessionID.random().rawValue)
    }

    /// Sixteen hex digits.
    public var description: String { SessionID(rawValue: self.rawValue).description }
}

/// The server's greeting, sent as soon as it accepts a connection.
///
/// ```
/// +-------------------------------------------------------+-------+----------------------+
/// |                  server nonce (16 bytes)              | flags | agreement (7 bytes)  |
/// +-------------------------------------------------------+-------+----------------------+
/// flags: bit 0 = the server requires a key proof
/// agreement: optional, `TunnelAgreement` (the settings both ends must share)
/// ```
public struct ServerHello: Hashable, Sendable {
    /// Fresh per connection; a client's proof covers it, so a recorded hello cannot be replayed.
    public var nonce: HelloNonce
    /// Whether the server requires a key proof.
    public var requiresProof: Bool
    /// The server's settings that the client's must match (checked by the client at connect time).
    public var agreement: TunnelAgreement?

    /// A greeting with the given nonce.
    public init(nonce: HelloNonce, requiresProof: Bool, agreement: TunnelAgreement? = nil) {
        self.nonce = nonce
        self.requiresProof = requiresProof
        self.agreement = agreement
    }

    var bodyBytes: Int { WireConstants.nonceBytes + 1 + (self.agreement == nil ? 0 : TunnelAgreement.encodedBytes) }

    init(body: inout ByteBuffer) throws(FrameDecodingError) {
        guard let high = body.readInteger(as: UInt64.self), let low = body.readInteger(as: UInt64.self),
            let flags = body.readInteger(as: UInt8.self)
        else { throw .malformedBody(type: FrameType.serverHello.rawValue, length: body.readableBytes) }
        guard flags & ~1 == 0 else { throw .invalidField("serverHello.flags") }
        self.nonce = HelloNonce(high: high, low: low)
        self.requiresProof = flags & 1 == 1
        self.agreement =
            body.readableBytes > 0 ? try TunnelAgreement(body: &body, type: FrameType.serverHello.rawValue) : nil
    }

    func writeBody(into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(self.nonce.high) + buffer.writeInteger(self.nonce.low)
            + buffer.writeInteger(UInt8(self.requiresProof ? 1 : 0)) + (self.agreement?.write(into: &buffer) ?? 0)
    }
}

/// The client's answer to the server's greeting; the first frame a client sends on any connection.
///
/// ```
/// +-------+-------+-------------------------------+-----------------------+
/// | kind  |  dup  |        client id (u64)        |  client nonce (16 B)  |
/// +-------+-------+-------+-----------------------+-----------------------+
/// | proof length  |  proof (proof length bytes, at most 64)  ...          |
/// +---------------+-------------------------------------------------------+
/// |  tuning (29 bytes, `ClientTuning`)  |  agreement (7, `TunnelAgreement`) |
/// +-------------------------------------+-----------------------------------+
/// kind: 1 sync, 2 fling, 3 lasso
/// dup:  0 fling, 1 lasso, 2 both, 3 none (the client's --dup: which connections carry which direction)
/// tuning and agreement: optional, together (the proof covers the tuning's bytes)
/// ```
public struct ClientHello: Hashable, Sendable {
    /// What this connection is for.
    public var kind: ConnectionKind
    /// The client's dup mode, which tells the server what it may send on this connection.
    public var dup: DupMode
    /// The client end this connection belongs to.
    public var clientID: ClientID
    /// Fresh per connection.
    public var nonce: HelloNonce
    /// Proof of the pre-shared key over both nonces; empty without a key.
    public var proof: [UInt8]
    /// The client's tuning, which the server's sessions for this client follow.
    public var tuning: ClientTuning?
    /// The client's settings that the server's must match.
    public var agreement: TunnelAgreement?

    /// A hello with every field given.
    public init(
        kind: ConnectionKind, dup: DupMode = .fling, clientID: ClientID, nonce: HelloNonce, proof: [UInt8] = [],
        tuning: ClientTuning? = nil, agreement: TunnelAgreement? = nil
    ) {
        self.kind = kind
        self.dup = dup
        self.clientID = clientID
        self.nonce = nonce
        self.proof = proof
        self.tuning = tuning
        self.agreement = agreement
    }

    /// The tuning and agreement bytes as sent (empty without them), which the key proof covers.
    public var declaredBytes: [UInt8] {
        guard let tuning = self.tuning, let agreement = self.agreement else { return [] }
        var buffer = ByteBuffer()
        tuning.write(into: &buffer)
        agreement.write(into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    private var declaredByteCount: Int {
        self.tuning == nil || self.agreement == nil ? 0 : ClientTuning.encodedBytes + TunnelAgreement.encodedBytes
    }

    var bodyBytes: Int { 1 + 1 + 8 + WireConstants.nonceBytes + 1 + self.proof.count + self.declaredByteCount }

    init(body: inout ByteBuffer) throws(FrameDecodingError) {
        let type = FrameType.clientHello.rawValue
        guard let kindByte = body.readInteger(as: UInt8.self), let dupByte = body.readInteger(as: UInt8.self),
            let client = body.readInteger(as: UInt64.self),
            let high = body.readInteger(as: UInt64.self), let low = body.readInteger(as: UInt64.self),
            let proofLength = body.readInteger(as: UInt8.self)
        else { throw .malformedBody(type: type, length: body.readableBytes) }
        guard let kind = ConnectionKind(rawValue: kindByte) else { throw .invalidField("clientHello.kind") }
        guard let dup = DupMode(wireValue: dupByte) else { throw .invalidField("clientHello.dup") }
        guard Int(proofLength) <= WireConstants.maxProofBytes else { throw .invalidField("clientHello.proofLength") }
        guard let proof = body.readBytes(length: Int(proofLength)) else {
            throw .malformedBody(type: type, length: body.readableBytes)
        }
        self.kind = kind
        self.dup = dup
        self.clientID = ClientID(rawValue: client)
        self.nonce = HelloNonce(high: high, low: low)
        self.proof = proof
        if body.readableBytes > 0 {
            self.tuning = try ClientTuning(body: &body, type: type)
            self.agreement = try TunnelAgreement(body: &body, type: type)
        }
    }

    func writeBody(into buffer: inout ByteBuffer) -> Int {
        var written =
            buffer.writeInteger(self.kind.rawValue) + buffer.writeInteger(self.dup.wireValue)
            + buffer.writeInteger(self.clientID.rawValue)
            + buffer.writeInteger(self.nonce.high) + buffer.writeInteger(self.nonce.low)
            + buffer.writeInteger(UInt8(self.proof.count)) + buffer.writeBytes(self.proof)
        if let tuning = self.tuning, let agreement = self.agreement {
            written += tuning.write(into: &buffer) + agreement.write(into: &buffer)
        }
        return written
    }
}
