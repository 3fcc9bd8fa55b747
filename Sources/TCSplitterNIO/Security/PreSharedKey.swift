import Crypto
import Foundation
import NIOCore
import TCSplitterCore

/// The pre-shared key (`--key`, `--key-file`, `TCSPLITTER_KEY`) and what is derived from it.
///
/// ```
/// master  = HKDF-SHA256(key, salt "tcsplitter v1", info "master")
/// proof   = HMAC-SHA256(master, "hello" | server nonce | client nonce | client id | kind | dup)
/// c2s,s2c = HKDF-SHA256(master, salt server nonce | client nonce, info "c2s" / "s2c"), 32 bytes
/// ```
/// The server's nonce is fresh per connection, so a recorded client hello never proves anything
/// on another connection; the connection keys are fresh per connection too, so the frame
/// counters used as nonces never repeat under one key.
public struct PreSharedKey: Sendable {
    private let master: SymmetricKey

    /// The shortest key accepted, in bytes.
    public static let minimumBytes = 16

    /// Derives the master key from the secret text.
    public init(secret: String) throws(ConfigurationError) {
        let bytes = Array(secret.utf8)
        guard bytes.count >= Self.minimumBytes else {
            throw ConfigurationError(
                flag: "--key",
                "a key needs at least \(Self.minimumBytes) bytes (make one with: head -c 32 /dev/urandom | base64)"
            )
        }
        self.master = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: bytes),
            salt: Array("tcsplitter v1".utf8),
            info: Array("master".utf8),
            outputByteCount: 32
        )
    }

    /// The client's proof of the key for one connection.
    func proof(
        serverNonce: HelloNonce,
        clientNonce: HelloNonce,
        kind: ConnectionKind,
        dup: DupMode = .fling,
        clientID: ClientID,
        declared: [UInt8] = []
    ) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Self.transcript(serverNonce, clientNonce, kind, dup, clientID) + declared, using: self.master))
    }

    /// Whether `proof` is the right one (compared in constant time).
    func verify(
        proof: [UInt8],
        serverNonce: HelloNonce,
        clientNonce: HelloNonce,
        kind: ConnectionKind,
        dup: DupMode = .fling,
        clientID: ClientID,
        declared: [UInt8] = []
    ) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            proof,
            authenticating: Self.transcript(serverNonce, clientNonce, kind, dup, clientID) + declared,
            using: self.master
        )
    }

    /// The frame cipher of one connection, for the client end (`isClient`) or the server end.
    func cipher(serverNonce: HelloNonce, clientNonce: HelloNonce, isClient: Bool) -> FrameCipher {
        var salt: [UInt8] = []
        for value in [serverNonce.high, serverNonce.low, clientNonce.high, clientNonce.low] {
            withUnsafeBytes(of: value.bigEndian) { salt.append(contentsOf: $0) }
        }
        let clientToServer = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: self.master, salt: salt, info: Array("c2s".utf8), outputByteCount: 32)
        let serverToClient = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: self.master, salt: salt, info: Array("s2c".utf8), outputByteCount: 32)
        return FrameCipher(
            sendKey: isClient ? clientToServer : serverToClient,
            receiveKey: isClient ? serverToClient : clientToServer
        )
    }

    private static func transcript(
        _ serverNonce: HelloNonce,
        _ clientNonce: HelloNonce,
        _ kind: ConnectionKind,
        _ dup: DupMode,
        _ clientID: ClientID
    ) -> [UInt8] {
        var bytes = Array("hello".utf8)
        for value in [serverNonce.high, serverNonce.low, clientNonce.high, clientNonce.low, clientID.rawValue] {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.append(kind.rawValue)
        bytes.append(dup.wireValue)
        return bytes
    }
}
