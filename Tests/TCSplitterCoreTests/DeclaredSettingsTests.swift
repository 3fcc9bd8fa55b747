import NIOCore
import TCSplitterCore
import Testing

/// What the hellos declare: the settings both ends share, and the client's tuning the server
/// follows; plus the retransmit buffer's carriers (resend only what a gone or stuck connection
/// carried).
@Suite struct DeclaredSettingsTests {
    static let nonce = HelloNonce(high: 1, low: 2)

    @Test("a server hello with an agreement carries payload size, FEC shards and protocol after its flags")
    func serverHelloAgreement() {
        let agreement = TunnelAgreement(
            payloadBytes: 0x0102_0304, fecDataShards: 10, fecParityShards: 3, localProtocol: .udp)
        let hello = Frame.serverHello(ServerHello(nonce: Self.nonce, requiresProof: false, agreement: agreement))
        let bytes = encoded(hello)
        #expect(Array(bytes.suffix(7)) == [0x01, 0x02, 0x03, 0x04, 10, 3, 1])
        #expect(decodeWhole(bytes) == hello)
    }

    @Test("a client hello's tuning and agreement round-trip, and a bad protocol byte is refused")
    func clientHelloTuning() {
        var configuration = TunnelConfiguration(role: .client)
        configuration.tickInterval = .zero
        configuration.bufferPayloads = 4
        configuration.scalesBudget = false
        configuration.payloadsPerConnection = 1024
        configuration.adaptiveClocks = false
        let hello = Frame.clientHello(
            ClientHello(
                kind: .fling, clientID: ClientID(rawValue: 5), nonce: Self.nonce, tuning: configuration.tuning,
                agreement: configuration.agreement))
        var bytes = encoded(hello)
        #expect(bytes.count == 8 + 1 + 1 + 8 + 16 + 1 + ClientTuning.encodedBytes + TunnelAgreement.encodedBytes)
        #expect(decodeWhole(bytes) == hello)
        bytes[bytes.count - 1] = 7
        #expect(decodeError(bytes) == .invalidField("agreement.protocol"))
    }

    @Test("the server follows a client's declared tuning and keeps its own limits")
    func serverFollowsTuning() {
        var client = TunnelConfiguration(role: .client)
        client.tickInterval = .zero
        client.tockInterval = .milliseconds(20)
        client.bufferInterval = .milliseconds(40)
        client.bufferPayloads = 4
        client.retries = false
        client.adaptiveClocks = false
        client.scalesBudget = false
        client.payloadsPerConnection = 1024
        client.windowBytes = 16 << 20
        var server = TunnelConfiguration(role: .server)
        server.maxSessions = 7
        let followed = server.following(client.tuning)
        #expect(followed.tickInterval == .zero)
        #expect(followed.tockInterval == .milliseconds(20))
        #expect(followed.bufferInterval == .milliseconds(40))
        #expect(followed.bufferPayloads == 4)
        #expect(!followed.retries)
        #expect(!followed.adaptiveClocks)
        #expect(!followed.scalesBudget && followed.payloadsPerConnection == 1024)
        #expect(followed.windowBytes == 16 << 20)
        #expect(followed.maxSessions == 7)
        #expect(server.following(TunnelConfiguration(role: .client).tuning).scalesBudget)
    }

    @Test("the defaults are the product: adaptive clocks and retries on")
    func defaults() {
        let configuration = TunnelConfiguration(role: .client)
        #expect(configuration.adaptiveClocks)
        #expect(configuration.retries && configuration.retrySkip == -1)
        #expect(configuration.tickInterval == .milliseconds(50))
        #expect(configuration.tockInterval == .milliseconds(250))
        #expect(configuration.bufferInterval == .milliseconds(250))
        #expect(ModePreset.stealth.flags.contains { $0.flag == "--clocks" && $0.value == "fixed" })
    }

    static func payload(_ offset: UInt64, _ bytes: Int = 10) -> OutboundPayload {
        OutboundPayload(offset: offset, data: ByteBuffer(repeating: 0, count: bytes), isEndOfStream: false)
    }

    @Test("a request resends only payloads whose connection may resend them, never one still waiting for a connection")
    func resendOnlyWhatIsLost() {
        var buffer = RetransmitBuffer()
        for offset in stride(from: 0 as UInt64, to: 40, by: 10) { buffer.keep(Self.payload(offset)) }
        buffer.sent(offset: 0, on: 1, now: at(0))
        buffer.sent(offset: 10, on: 2, now: at(0))
        buffer.sent(offset: 20, on: 1, now: at(900))
        // 30 was never written: it waits in the dispatcher.
        let live: Set<UInt64> = [1]
        let resendable = { (carrier: UInt64, sentAt: NIODeadline) in
            !live.contains(carrier) || at(1000) - sentAt >= .milliseconds(500)
        }
        let resent = buffer.payloads(overlapping: [0..<40], resendable: resendable)
        // 10's connection is gone, 0 is overdue on its live one; 20 is recent on a live one.
        #expect(resent.map(\.offset) == [0, 10])
        // Taken for resending, they wait for a connection again: a repeated request does not double them.
        #expect(buffer.payloads(overlapping: [0..<40], resendable: resendable).isEmpty)
    }

    @Test("a connection that died resends what it carried last, once")
    func resendWhatADeadConnectionCarried() {
        var buffer = RetransmitBuffer()
        for offset in stride(from: 0 as UInt64, to: 30, by: 10) { buffer.keep(Self.payload(offset)) }
        buffer.sent(offset: 0, on: 1, now: at(0))
        buffer.sent(offset: 10, on: 1, now: at(0))
        buffer.sent(offset: 20, on: 2, now: at(0))
        buffer.sent(offset: 10, on: 3, now: at(5))  // already resent elsewhere
        buffer.acknowledge(upTo: 0)
        #expect(buffer.payloads(carriedBy: 1).map(\.offset) == [0])
        #expect(buffer.payloads(carriedBy: 1).isEmpty)
        buffer.acknowledge(upTo: 30)
        #expect(buffer.payloads(carriedBy: 2).isEmpty)
    }
}

/// `--window auto`: each session's window follows the path's round trip, and travels in its open.
@Suite struct SessionWindowTests {
    @Test("4 MiB up to a 12.5 ms round trip, then in proportion, at most 32 MiB; a fixed --window never moves")
    func followsTheRoundTrip() {
        var configuration = TunnelConfiguration(role: .client)
        #expect(configuration.autoWindow)
        #expect(configuration.sessionWindow(roundTrip: nil) == 4 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(1)) == 4 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(10)) == 4 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(25)) == 8 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(50)) == 16 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(100)) == 32 << 20)
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(200)) == 32 << 20)
        #expect(configuration.sessionWindow(roundTrip: .seconds(1)) == 32 << 20)
        configuration.autoWindow = false
        configuration.windowBytes = 16 << 20
        #expect(configuration.sessionWindow(roundTrip: .milliseconds(200)) == 16 << 20)
    }

    @Test("an open carries the session's window after its id only when it has one; zero on the wire is refused")
    func openCarriesTheWindow() {
        let id = SessionID(rawValue: 0x0102_0304_0506_0708)
        let idBytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]
        let sized = ControlMessage.open(id, windowBytes: 32 << 20)
        let bytes = encoded(.control(sized))
        #expect(bytes == [0x54, 0x43, 0x02, 0x20, 0x00, 0x00, 0x00, 0x0C] + idBytes + [0x02, 0x00, 0x00, 0x00])
        #expect(decodeWhole(bytes) == .control(sized))
        #expect(encoded(.control(.open(id))).count == 16)
        let zero = [0x54, 0x43, 0x02, 0x20, 0x00, 0x00, 0x00, 0x0C] + idBytes + [0, 0, 0, 0]
        #expect(decodeError(zero) == .invalidField("open.window"))
        let destination = SessionDestination(addressBytes: [198, 18, 20, 2], port: 7001)!
        let transparent = ControlMessage.openTo(id, destination, windowBytes: 8 << 20)
        #expect(decodeWhole(encoded(.control(transparent))) == .control(transparent))
    }
}

/// `--congestion auto`: bbr where this process may set it, the system's default otherwise.
@Suite struct CongestionChoiceTests {
    @Test(
        "bbr when allowed or privileged; nothing to set when it is already the default; otherwise the default, with the way to allow bbr"
    )
    func choice() {
        #expect(CongestionChoice.auto(allowed: ["reno", "cubic"], systemDefault: "bbr", privileged: false).name == nil)
        #expect(
            CongestionChoice.auto(allowed: ["reno", "bbr"], systemDefault: "cubic", privileged: false).name == "bbr")
        #expect(
            CongestionChoice.auto(allowed: ["reno", "cubic"], systemDefault: "cubic", privileged: true).name == "bbr")
        let refused = CongestionChoice.auto(allowed: ["reno", "cubic"], systemDefault: "cubic", privileged: false)
        #expect(refused.name == nil)
        #expect(refused.reason.hasPrefix("cubic") && refused.reason.contains("tcp_allowed_congestion_control"))
    }
}
