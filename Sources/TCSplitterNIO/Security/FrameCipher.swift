import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import TCSplitterCore

/// Why a sealed frame was refused. The connection is closed; its sessions are unharmed.
enum FrameCipherError: Error, Hashable {
    /// The tag did not verify: a flipped bit, a forged or replayed frame, or the wrong key.
    case authenticationFailed
    /// The body is shorter than a tag.
    case bodyTooShort(Int)
}

/// Seals and opens the frames of one keyed connection with ChaCha20-Poly1305.
///
/// ```
/// +----------------------+------------------------------------------+-----------+
/// | envelope (8 B, clear)| body, encrypted                          | tag (16 B)|
/// +----------------------+------------------------------------------+-----------+
///   authenticated as associated data; the body length counts the tag
/// nonce = 0x00000000 | frame counter (u64, big-endian), one counter per direction
/// ```
/// Each direction has its own key, fresh per connection, and a counter that starts at zero, so
/// no nonce repeats under a key; a frame replayed, dropped or reordered fails to open.
final class FrameCipher {
    /// Bytes of the authentication tag appended to every body.
    static let tagBytes = 16

    private let sendKey: SymmetricKey
    private let receiveKey: SymmetricKey
    private var sendCounter: UInt64 = 0
    private var receiveCounter: UInt64 = 0

    init(sendKey: SymmetricKey, receiveKey: SymmetricKey) {
        self.sendKey = sendKey
        self.receiveKey = receiveKey
    }

    /// Seals `body` of a frame whose envelope is `header`. Returns ciphertext then tag.
    func seal(header: ByteBuffer, body: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let nonce = try Self.nonce(self.sendCounter)
        self.sendCounter += 1
        let box = try ChaChaPoly.seal(
            body.readableBytesView,
            using: self.sendKey,
            nonce: nonce,
            authenticating: header.readableBytesView
        )
        var out = allocator.buffer(capacity: body.readableBytes + Self.tagBytes)
        out.writeBytes(box.ciphertext)
        out.writeBytes(box.tag)
        return out
    }

    /// Opens a sealed body of a frame whose envelope is `header`.
    func open(header: ByteBuffer, body: ByteBuffer) throws(FrameCipherError) -> ByteBuffer {
        guard body.readableBytes >= Self.tagBytes else { throw .bodyTooShort(body.readableBytes) }
        let cipherLength = body.readableBytes - Self.tagBytes
        do {
            let nonce = try Self.nonce(self.receiveCounter)
            let box = try ChaChaPoly.SealedBox(
                nonce: nonce,
                ciphertext: body.getSlice(at: body.readerIndex, length: cipherLength)!.readableBytesView,
                tag: body.getSlice(at: body.readerIndex + cipherLength, length: Self.tagBytes)!.readableBytesView
            )
            let plain = try ChaChaPoly.open(box, using: self.receiveKey, authenticating: header.readableBytesView)
            self.receiveCounter += 1
            return ByteBuffer(data: plain)
        } catch {
            throw .authenticationFailed
        }
    }

    private static func nonce(_ counter: UInt64) throws -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: counter.bigEndian) { raw in
            for index in 0..<8 { bytes[4 + index] = raw[index] }
        }
        return try ChaChaPoly.Nonce(data: bytes)
    }
}

/// What a connection's decoder and handler share about its keying: whether a key is required,
/// and the cipher once the hello exchange installed it. One per connection, on its event loop.
final class ConnectionSecurity {
    /// The key, when the tunnel has one.
    let key: PreSharedKey?
    /// The cipher, from the end of the hello exchange on.
    var cipher: FrameCipher?

    init(key: PreSharedKey?) {
        self.key = key
    }
}
