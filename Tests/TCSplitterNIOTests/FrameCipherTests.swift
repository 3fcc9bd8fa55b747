import NIOCore
import TCSplitterCore
import Testing

@testable import TCSplitterNIO

/// The keyed connection's frame protection: proofs, and sealing with counter nonces.
@Suite struct FrameCipherTests {
    static let key = try! PreSharedKey(secret: "unit-test-key-0123456789")
    static let server = HelloNonce(high: 1, low: 2)
    static let client = HelloNonce(high: 3, low: 4)

    static func pair() -> (client: FrameCipher, server: FrameCipher) {
        (
            Self.key.cipher(serverNonce: Self.server, clientNonce: Self.client, isClient: true),
            Self.key.cipher(serverNonce: Self.server, clientNonce: Self.client, isClient: false)
        )
    }

    static func header(_ bodyBytes: Int) -> ByteBuffer {
        var header = ByteBuffer()
        header.writeFrameHeader(type: .payload, bodyBytes: bodyBytes + FrameCipher.tagBytes)
        return header
    }

    @Test("a proof verifies only for the same nonces, kind, client id and key")
    func proofs() throws {
        let proof = Self.key.proof(
            serverNonce: Self.server, clientNonce: Self.client, kind: .fling, clientID: ClientID(rawValue: 5))
        #expect(
            Self.key.verify(
                proof: proof, serverNonce: Self.server, clientNonce: Self.client, kind: .fling,
                clientID: ClientID(rawValue: 5)))
        // Replayed on another connection (another server nonce), or altered: refused.
        #expect(
            !Self.key.verify(
                proof: proof, serverNonce: HelloNonce(high: 9, low: 9), clientNonce: Self.client, kind: .fling,
                clientID: ClientID(rawValue: 5)))
        #expect(
            !Self.key.verify(
                proof: proof, serverNonce: Self.server, clientNonce: Self.client, kind: .sync,
                clientID: ClientID(rawValue: 5)))
        #expect(
            !Self.key.verify(
                proof: proof, serverNonce: Self.server, clientNonce: Self.client, kind: .fling,
                clientID: ClientID(rawValue: 6)))
        let other = try PreSharedKey(secret: "another-key-entirely-0000")
        #expect(
            !other.verify(
                proof: proof, serverNonce: Self.server, clientNonce: Self.client, kind: .fling,
                clientID: ClientID(rawValue: 5)))
        // The dup mode is covered too: a hello cannot be replayed with another mode.
        #expect(
            !Self.key.verify(
                proof: proof, serverNonce: Self.server, clientNonce: Self.client, kind: .fling, dup: .none,
                clientID: ClientID(rawValue: 5)))
        #expect(throws: ConfigurationError.self) { try PreSharedKey(secret: "short") }
    }

    @Test("sealed frames open in order, each direction with its own key")
    func roundTrip() throws {
        let (client, server) = Self.pair()
        for index in 0..<5 {
            let body = ByteBuffer(bytes: (0..<(100 + index)).map { UInt8(truncatingIfNeeded: $0 * 7 + index) })
            let sealed = try client.seal(
                header: Self.header(body.readableBytes), body: body, allocator: ByteBufferAllocator())
            #expect(sealed.readableBytes == body.readableBytes + FrameCipher.tagBytes)
            #expect(sealed.getSlice(at: sealed.readerIndex, length: body.readableBytes) != body)
            #expect(try server.open(header: Self.header(body.readableBytes), body: sealed) == body)
        }
        let back = try server.seal(
            header: Self.header(3), body: ByteBuffer(string: "abc"), allocator: ByteBufferAllocator())
        #expect(try client.open(header: Self.header(3), body: back) == ByteBuffer(string: "abc"))
    }

    @Test("a flipped bit, a changed header, a replayed or reordered frame, or the wrong direction fail to open")
    func tampering() throws {
        let (client, server) = Self.pair()
        let body = ByteBuffer(string: "payload bytes")
        let first = try client.seal(
            header: Self.header(body.readableBytes), body: body, allocator: ByteBufferAllocator())
        let second = try client.seal(
            header: Self.header(body.readableBytes), body: body, allocator: ByteBufferAllocator())
        var flipped = first
        flipped.setInteger(flipped.getInteger(at: 2, as: UInt8.self)! ^ 1, at: 2)
        #expect(throws: FrameCipherError.authenticationFailed) {
            try server.open(header: Self.header(body.readableBytes), body: flipped)
        }
        var otherHeader = ByteBuffer()
        otherHeader.writeFrameHeader(type: .open, bodyBytes: body.readableBytes + FrameCipher.tagBytes)
        #expect(throws: FrameCipherError.authenticationFailed) { try server.open(header: otherHeader, body: first) }
        #expect(throws: FrameCipherError.authenticationFailed) {
            try server.open(header: Self.header(body.readableBytes), body: second)
        }  // out of order
        #expect(try server.open(header: Self.header(body.readableBytes), body: first) == body)
        #expect(throws: FrameCipherError.authenticationFailed) {
            try server.open(header: Self.header(body.readableBytes), body: first)
        }  // replayed
        #expect(throws: FrameCipherError.authenticationFailed) {
            try client.open(header: Self.header(body.readableBytes), body: second)
        }  // wrong direction
        #expect(throws: FrameCipherError.bodyTooShort(3)) {
            try server.open(header: Self.header(0), body: ByteBuffer(bytes: [1, 2, 3]))
        }
    }

    @Test("random sealed bodies never open and never trap")
    func randomBodies() {
        let (_, server) = Self.pair()
        var generator = SplitMix64(seed: 77)
        for _ in 0..<20_000 {
            var body = ByteBuffer()
            generator.fill(&body, count: Int(generator.next() % 200))
            #expect(throws: FrameCipherError.self) {
                try server.open(header: Self.header(max(0, body.readableBytes - 16)), body: body)
            }
        }
    }
}
