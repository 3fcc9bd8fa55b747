import NIOCore
import TCSplitterCore
import Testing

/// Sync-connection messages: every case round-trips, raw layouts, limits, and reason clipping.
@Suite struct ControlMessageTests {
    static let id = SessionID(rawValue: 0x0102_0304_0506_0708)
    static let idBytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]

    static let everyCase: [ControlMessage] = [
        .open(id), .opened(id), .openFailed(id, reason: "connection refused"), .finish(id, finalOffset: 1 << 33),
        .progress(id, receivedOffset: 10, sentOffset: .max), .reset(id, reason: "stalled at 4096..<8192 — gave up"),
        .ping(0), .pong(0xFFFF_0000_FFFF_0000),
    ]

    @Test("every message survives a write and a read", arguments: everyCase)
    func roundTrip(message: ControlMessage) {
        let bytes = encoded(.control(message))
        #expect(bytes[3] == message.type.rawValue)
        #expect(decodeWhole(bytes) == .control(message))
    }

    @Test("each message has its own frame type, and names its session unless it is a keepalive")
    func typesAndSessions() {
        let types = Self.everyCase.map(\.type)
        #expect(types == [.open, .opened, .openFailed, .finish, .progress, .reset, .ping, .pong])
        for message in Self.everyCase {
            switch message {
            case .ping, .pong: #expect(message.sessionID == nil)
            default: #expect(message.sessionID == Self.id)
            }
        }
    }

    @Test("open is the session id alone")
    func openLayout() {
        let bytes: [UInt8] = [0x54, 0x43, 0x02, 0x20, 0x00, 0x00, 0x00, 0x08] + Self.idBytes
        #expect(encoded(.control(.open(Self.id))) == bytes)
        #expect(decodeWhole(bytes) == .control(.open(Self.id)))
    }

    @Test("progress is session, received offset, sent offset, then a counted list of held ranges")
    func progressLayout() {
        let bytes: [UInt8] =
            [0x54, 0x43, 0x02, 0x24, 0x00, 0x00, 0x00, 0x19] + Self.idBytes
            + [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00]  // received 4096
            + [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]  // sent 2^32
            + [0x00]  // no selective ranges
        let message = ControlMessage.progress(Self.id, receivedOffset: 4096, sentOffset: 1 << 32)
        #expect(encoded(.control(message)) == bytes)
        #expect(decodeWhole(bytes) == .control(message))
        let withRanges: [UInt8] =
            [0x54, 0x43, 0x02, 0x24, 0x00, 0x00, 0x00, 0x29] + Self.idBytes + be(UInt64(10)) + be(UInt64(30)) + [0x01]
            + be(UInt64(20)) + be(UInt64(25))
        let selective = ControlMessage.progress(Self.id, receivedOffset: 10, sentOffset: 30, selective: [20..<25])
        #expect(encoded(.control(selective)) == withRanges)
        #expect(decodeWhole(withRanges) == .control(selective))
    }

    @Test("resend is session, then a counted list of ascending non-empty ranges; others are refused")
    func resendLayout() {
        let bytes: [UInt8] =
            [0x54, 0x43, 0x02, 0x28, 0x00, 0x00, 0x00, 0x29] + Self.idBytes + [0x02]
            + be(UInt64(0)) + be(UInt64(100)) + be(UInt64(200)) + be(UInt64(300))
        let message = ControlMessage.resend(Self.id, ranges: [0..<100, 200..<300])
        #expect(encoded(.control(message)) == bytes)
        #expect(decodeWhole(bytes) == .control(message))
        let empty = envelope(type: 0x28, body: Self.idBytes + [0x01] + be(UInt64(5)) + be(UInt64(5)))
        #expect(decodeError(empty) == .invalidField("resend.ranges"))
        let descending =
            envelope(
                type: 0x28,
                body: Self.idBytes + [0x02] + be(UInt64(50)) + be(UInt64(60)) + be(UInt64(10)) + be(UInt64(20)))
        #expect(decodeError(descending) == .invalidField("resend.ranges"))
        let tooMany = envelope(type: 0x28, body: Self.idBytes + [0x11])
        #expect(decodeError(tooMany) == .invalidField("resend.rangeCount"))
    }

    @Test("reset is session, a u16 reason length, the UTF-8 reason")
    func resetLayout() {
        let bytes: [UInt8] =
            [0x54, 0x43, 0x02, 0x25, 0x00, 0x00, 0x00, 0x0D] + Self.idBytes + [0x00, 0x03] + [0x6E, 0xC3, 0xB6]
        let message = ControlMessage.reset(Self.id, reason: "nö")
        #expect(encoded(.control(message)) == bytes)
        #expect(decodeWhole(bytes) == .control(message))
    }

    @Test("a session message for session zero is rejected; a keepalive token may be zero")
    func zeroSession() {
        for type: UInt8 in [0x20, 0x21] {
            #expect(decodeError(envelope(type: type, body: be(UInt64(0)))) == .invalidField("control.sessionID"))
        }
        #expect(
            decodeError(envelope(type: 0x23, body: be(UInt64(0)) + be(UInt64(5)))) == .invalidField("control.sessionID")
        )
        #expect(decodeWhole(envelope(type: 0x26, body: be(UInt64(0)))) == .control(.ping(0)))
        #expect(decodeWhole(envelope(type: 0x27, body: be(UInt64(0)))) == .control(.pong(0)))
    }

    @Test("bodies too short or too long for their fields are malformed")
    func wrongLengths() {
        let cases: [(UInt8, [UInt8])] = [
            (0x23, Self.idBytes + [0, 0, 0, 0]),  // finish without a whole final offset
            (0x23, Self.idBytes + be(UInt64(1)) + [0]),  // finish with a trailing byte
            (0x24, Self.idBytes + be(UInt64(1))),  // progress without the sent offset
            (0x24, Self.idBytes + be(UInt64(1)) + be(UInt64(2))),  // progress without its range count
            (0x24, Self.idBytes + be(UInt64(1)) + be(UInt64(2)) + [0, 0]),  // a byte after no ranges
            (0x24, Self.idBytes + be(UInt64(1)) + be(UInt64(2)) + [1] + be(UInt64(3))),  // half a range
            (0x28, Self.idBytes),  // resend without its range count
            (0x29, be(UInt64(1))),  // replace with half a nonce
            (0x29, be(UInt64(1)) + be(UInt64(2)) + [0]),  // replace with a trailing byte
            (0x25, Self.idBytes + [0x00]),  // reset with half a length
            (0x22, Self.idBytes + [0x00, 0x05, 0x61, 0x62]),  // reason shorter than its length
            (0x22, Self.idBytes + [0x00, 0x01, 0x61, 0x62]),  // reason longer than its length
            (0x21, [0x01, 0x02]),
        ]
        for (type, body) in cases {
            let error = decodeError(envelope(type: type, body: body))
            guard case .malformedBody(type: type, _) = error else {
                Issue.record(
                    "type \(type), \(body.count)-byte body: expected malformedBody, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test("a reason length over 512 is rejected even when the bytes are there")
    func reasonLengthLimit() {
        let longest = Self.idBytes + be(UInt16(512)) + Array(repeating: 0x61, count: 512)
        #expect(
            decodeWhole(envelope(type: 0x25, body: longest))
                == .control(.reset(Self.id, reason: String(repeating: "a", count: 512))))
        let over = Self.idBytes + be(UInt16(513)) + Array(repeating: 0x61, count: 513)
        #expect(decodeError(envelope(type: 0x25, body: over)) == .invalidField("control.reasonLength"))
        #expect(decodeError(envelope(type: 0x22, body: over)) == .invalidField("control.reasonLength"))
    }

    /// The reason a message carries after a write and a read.
    static func sentReason(_ reason: String) throws -> String {
        let bytes = encoded(.control(.reset(Self.id, reason: reason)))
        // The envelope's length must match what was written.
        #expect(
            Int(UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])) == bytes
                .count - 8)
        let frame = try #require(decodeWhole(bytes))
        guard case .control(.reset(let id, let clipped)) = frame else {
            Issue.record("expected a reset, got \(frame)")
            return ""
        }
        #expect(id == Self.id)
        return clipped
    }

    @Test("a reason of up to 512 UTF-8 bytes is sent whole")
    func reasonNotClipped() throws {
        for reason in [
            String(repeating: "x", count: 512), String(repeating: "é", count: 256), String(repeating: "😀", count: 128),
        ] {
            #expect(reason.utf8.count == 512)
            #expect(try Self.sentReason(reason) == reason)
        }
    }

    @Test("a longer reason is cut to the longest prefix of whole characters within 512 UTF-8 bytes")
    func reasonClipped() throws {
        // ASCII: exactly 512 bytes survive.
        #expect(try Self.sentReason(String(repeating: "x", count: 600)) == String(repeating: "x", count: 512))
        // Two-byte characters: the 256 that fit exactly, not one fewer.
        #expect(try Self.sentReason(String(repeating: "é", count: 300)) == String(repeating: "é", count: 256))
        // Four-byte characters: 128 fit exactly.
        #expect(try Self.sentReason(String(repeating: "😀", count: 200)) == String(repeating: "😀", count: 128))
        // "a" + three-byte characters: 1 + 3 × 170 = 511; the 171st would be cut, so it goes.
        #expect(
            try Self.sentReason("a" + String(repeating: "€", count: 200)) == "a" + String(repeating: "€", count: 170))
        // A cut inside a four-byte character drops that character only.
        #expect(
            try Self.sentReason("ab" + String(repeating: "😀", count: 200)) == "ab" + String(repeating: "😀", count: 127))
    }

    @Test("clipping never splits a character made of several scalars")
    func reasonClippedOnGraphemes() throws {
        // "é" as e + U+0301 (3 bytes); a flag as two regional indicators (8 bytes).
        let decomposed = String(repeating: "x", count: 511) + "e\u{301}"
        #expect(try Self.sentReason(decomposed) == String(repeating: "x", count: 511))
        let flag = String(repeating: "x", count: 508) + "🇩🇪"
        #expect(try Self.sentReason(flag) == String(repeating: "x", count: 508))
    }

    @Test("a clipped reason is always valid UTF-8 within the limit, whatever the text")
    func reasonClippedFuzz() throws {
        var generator = SplitMix64(seed: 0x5EA5_0A11)
        let alphabet: [String] = ["a", "ß", "€", "😀", "e\u{301}", "🇩🇪", "👩‍👩‍👧"]
        for round in 0..<100 {
            let count = Int.random(in: 100...400, using: &generator)
            let reason = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            let clipped = try Self.sentReason(reason)
            // Plain booleans, so a failure names the round instead of printing both texts.
            let fits = clipped.utf8.count <= WireConstants.maxReasonBytes
            let wholeCharacters = reason.hasPrefix(clipped)
            let longest: Bool
            if reason.utf8.count <= WireConstants.maxReasonBytes {
                longest = clipped == reason
            } else {
                // No further whole character would have fit.
                let next = reason[reason.index(reason.startIndex, offsetBy: clipped.count)]
                longest = clipped.utf8.count + String(next).utf8.count > WireConstants.maxReasonBytes
            }
            #expect(fits, "round \(round): \(clipped.utf8.count) bytes")
            #expect(wholeCharacters, "round \(round): the clipped reason is not a prefix of whole characters")
            #expect(longest, "round \(round): \(clipped.utf8.count) bytes kept, another character would have fit")
        }
    }

    @Test("replace is the 16-byte client nonce of the connection's hello, and names no session")
    func spentLayout() {
        let message = ControlMessage.replace(HelloNonce(high: 0x0102_0304_0506_0708, low: 0x1112_1314_1516_1718))
        let bytes: [UInt8] =
            [0x54, 0x43, 0x02, 0x29, 0x00, 0x00, 0x00, 0x10]
            + [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
        #expect(encoded(.control(message)) == bytes)
        #expect(decodeWhole(bytes) == .control(message))
        #expect(message.sessionID == nil)
        // A zero nonce is not a session id: it decodes.
        #expect(
            decodeWhole(envelope(type: 0x29, body: be(UInt64(0)) + be(UInt64(0))))
                == .control(.replace(HelloNonce(high: 0, low: 0))))
    }
}
