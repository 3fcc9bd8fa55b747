import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import TCSplitterCore
import Testing

@testable import TCSplitterNIO

/// Records what a connection handler tells its end.
final class RecordingDelegate: TunnelConnectionDelegate {
    var ready: [ClientHello?] = []
    var payloads: [PayloadFrame] = []
    var messages: [ControlMessage] = []
    var retired = 0
    var closed = 0
    var nearlySpent = 0
    var mismatches: [[TunnelAgreement.Mismatch]] = []

    func connectionReady(_ connection: TunnelConnectionHandler, hello: ClientHello?) { self.ready.append(hello) }
    func connection(_ connection: TunnelConnectionHandler, received payload: PayloadFrame) {
        self.payloads.append(payload)
    }
    func connection(_ connection: TunnelConnectionHandler, received message: ControlMessage) {
        self.messages.append(message)
    }
    func connectionAvailabilityChanged(_ connection: TunnelConnectionHandler) {}
    func connectionRetired(_ connection: TunnelConnectionHandler) { self.retired += 1 }
    func connectionClosed(_ connection: TunnelConnectionHandler) { self.closed += 1 }
    func connectionNearlySpent(_ connection: TunnelConnectionHandler) { self.nearlySpent += 1 }
    func connection(_ connection: TunnelConnectionHandler, disagrees mismatches: [TunnelAgreement.Mismatch]) {
        self.mismatches.append(mismatches)
    }
}

/// Keeps the level and message of every record logged through it.
struct CapturingLogHandler: LogHandler {
    /// The records, shared by every copy of the handler.
    final class Records: Sendable {
        let entries = Mutex<[(level: Logger.Level, message: String)]>([])
        var all: [(level: Logger.Level, message: String)] { self.entries.withLock { $0 } }
    }

    let records: Records
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        self.records.entries.withLock { $0.append((event.level, event.message.description)) }
    }
}

/// The hello exchange, frame routing and protocol errors of one tunnel connection, on an
/// EmbeddedChannel with an injected clock.
@Suite struct TunnelConnectionHandlerTests {
    static let limits = FrameLimits(maxPayloadBytes: 100)
    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    static func makeChannel(
        side: TunnelConnectionHandler.Side, budget: Int = 4, dup: DupMode = .fling,
        agreement: TunnelAgreement? = nil, tuning: ClientTuning? = nil, logger: Logger = Self.logger
    ) throws -> (EmbeddedChannel, TunnelConnectionHandler, RecordingDelegate) {
        let delegate = RecordingDelegate()
        let handler = TunnelConnectionHandler(
            side: side,
            payloadBudget: budget,
            helloTimeout: .seconds(5),
            delegate: delegate,
            logger: logger,
            badInput: RateLimitedLog(),
            dup: dup,
            agreement: agreement,
            tuning: tuning
        )
        let channel = EmbeddedChannel()
        try TunnelBootstraps.addTunnelHandlers(to: channel, handler: handler, limits: Self.limits)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler, delegate)
    }

    static func bytes(_ frame: Frame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        return buffer
    }

    static func readFrame(_ channel: EmbeddedChannel) throws -> Frame? {
        guard var buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        while let more = try channel.readOutbound(as: ByteBuffer.self) {
            var more = more
            buffer.writeBuffer(&more)
        }
        return try buffer.readFrame(limits: Self.limits)
    }

    @Test("the server greets first, then takes the client's hello and routes its payloads")
    func acceptorHello() throws {
        let (channel, handler, delegate) = try Self.makeChannel(side: .acceptor)
        guard case .serverHello(let hello) = try Self.readFrame(channel) else {
            Issue.record("no server hello")
            return
        }
        #expect(!hello.requiresProof)
        let client = ClientHello(kind: .fling, clientID: ClientID(rawValue: 77), nonce: HelloNonce(high: 1, low: 1))
        try channel.writeInbound(Self.bytes(.clientHello(client)))
        #expect(delegate.ready == [client])
        #expect(handler.kind == .fling)
        #expect(handler.clientID == ClientID(rawValue: 77))
        #expect(handler.canSend)
        let payload = PayloadFrame(
            header: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 0), data: ByteBuffer(string: "hi"))
        try channel.writeInbound(Self.bytes(.payload(payload)))
        #expect(delegate.payloads == [payload])
        _ = try? channel.finish()
    }

    @Test("the client answers the server's greeting with its kind and id, then may send")
    func dialerHello() throws {
        let (channel, handler, delegate) = try Self.makeChannel(side: .dialer(.fling, ClientID(rawValue: 5)))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(!handler.canSend)
        try channel.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: false))))
        guard case .clientHello(let hello) = try Self.readFrame(channel) else {
            Issue.record("no client hello")
            return
        }
        #expect(hello.kind == .fling)
        #expect(hello.clientID == ClientID(rawValue: 5))
        #expect(delegate.ready.count == 1)
        #expect(handler.canSend)
        _ = try? channel.finish()
    }

    @Test("a server that asks for a key proof the client cannot give is left")
    func proofRequired() throws {
        let (channel, _, delegate) = try Self.makeChannel(side: .dialer(.sync, ClientID(rawValue: 5)))
        try channel.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: true))))
        #expect(!channel.isActive)
        #expect(delegate.ready.isEmpty)
        #expect(delegate.closed == 1)
    }

    @Test("no hello within the hello timeout closes the connection")
    func helloTimeout() throws {
        let (channel, _, delegate) = try Self.makeChannel(side: .acceptor)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(!channel.isActive)
        #expect(delegate.ready.isEmpty)
    }

    @Test("garbage instead of a hello closes only this connection")
    func garbage() throws {
        let (channel, _, delegate) = try Self.makeChannel(side: .acceptor)
        _ = try? channel.writeInbound(ByteBuffer(string: "SSH-2.0-OpenSSH_9.6\r\n"))
        #expect(!channel.isActive)
        #expect(delegate.ready.isEmpty)
        #expect(delegate.closed == 1)
    }

    @Test("a peer that stops inside a frame closes the connection with an info line, not a bad-frame warning")
    func cutFrameAtClose() throws {
        let records = CapturingLogHandler.Records()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(records: records) }
        let (channel, _, delegate) = try Self.makeChannel(side: .acceptor, logger: logger)
        _ = try Self.readFrame(channel)
        let client = ClientHello(kind: .fling, clientID: ClientID(rawValue: 7), nonce: HelloNonce(high: 1, low: 1))
        try channel.writeInbound(Self.bytes(.clientHello(client)))
        var frame = Self.bytes(
            .payload(
                PayloadFrame(
                    header: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 0),
                    data: ByteBuffer(string: "twenty bytes of data"))))
        let cut = frame.readSlice(length: frame.readableBytes - 5)!
        try channel.writeInbound(cut)
        #expect(delegate.payloads.isEmpty)
        channel.pipeline.fireChannelInactive()
        #expect(delegate.closed == 1)
        let lines = records.all.filter { $0.message.contains("inside a frame") }
        #expect(lines.count == 1 && lines.first?.level == .info)
        #expect(!records.all.contains { $0.level >= .warning })
        _ = try? channel.finish()
    }

    @Test("a payload on a sync connection, or a control message on a data connection, is a protocol error")
    func wrongKind() throws {
        let (sync, _, syncDelegate) = try Self.makeChannel(side: .acceptor)
        try sync.writeInbound(
            Self.bytes(
                .clientHello(
                    ClientHello(kind: .sync, clientID: ClientID(rawValue: 1), nonce: HelloNonce(high: 0, low: 0)))))
        let payload = PayloadFrame(
            header: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 0), data: ByteBuffer(string: "x"))
        try sync.writeInbound(Self.bytes(.payload(payload)))
        #expect(!sync.isActive)
        #expect(syncDelegate.payloads.isEmpty)

        let (fling, _, flingDelegate) = try Self.makeChannel(side: .acceptor)
        try fling.writeInbound(
            Self.bytes(
                .clientHello(
                    ClientHello(kind: .fling, clientID: ClientID(rawValue: 1), nonce: HelloNonce(high: 0, low: 0)))))
        try fling.writeInbound(Self.bytes(.control(.open(SessionID(rawValue: 4)))))
        #expect(!fling.isActive)
        #expect(flingDelegate.messages.isEmpty)
    }

    @Test("payloads are written header then data, and the budget retires the connection")
    func budget() throws {
        let (channel, handler, delegate) = try Self.makeChannel(side: .dialer(.fling, ClientID(rawValue: 5)), budget: 2)
        try channel.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: false))))
        _ = try Self.readFrame(channel)
        let header = PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 0)
        handler.send(payload: header, data: ByteBuffer(string: "abc"))
        handler.flush()
        guard case .payload(let sent) = try Self.readFrame(channel) else {
            Issue.record("no payload written")
            return
        }
        #expect(sent.header == header)
        #expect(String(buffer: sent.data) == "abc")
        #expect(handler.canSend)
        #expect(delegate.retired == 0)
        handler.send(
            payload: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 3), data: ByteBuffer(string: "d"))
        #expect(!handler.canSend)
        #expect(delegate.retired == 1)
        _ = try? channel.finish()
    }

    @Test("three quarters into its budget a connection asks once for its replacement")
    func nearlySpent() throws {
        let (channel, handler, delegate) = try Self.makeChannel(side: .dialer(.fling, ClientID(rawValue: 5)), budget: 8)
        try channel.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: false))))
        _ = try Self.readFrame(channel)
        var counts: [Int] = []
        for index in 0..<8 {
            handler.send(
                payload: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: UInt64(index)),
                data: ByteBuffer(string: "x"))
            counts.append(delegate.nearlySpent)
        }
        #expect(counts == [0, 0, 0, 0, 0, 1, 1, 1])
        _ = try? channel.finish()
    }

    @Test("the client's hello declares its dup mode and nonce; payloads the mode rules out close the connection")
    func dupModeRules() throws {
        // The client end in none mode: its lasso connection declares the mode and only receives.
        let (lasso, lassoHandler, _) = try Self.makeChannel(
            side: .dialer(.lasso, ClientID(rawValue: 5)), budget: 0, dup: .none)
        try lasso.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: false))))
        guard case .clientHello(let hello) = try Self.readFrame(lasso) else {
            Issue.record("no client hello")
            return
        }
        #expect(hello.dup == .none && hello.kind == .lasso)
        #expect(lassoHandler.clientNonce == hello.nonce)
        #expect(!lassoHandler.canSend)
        let payload = PayloadFrame(
            header: PayloadHeader(sessionID: SessionID(rawValue: 3), offset: 0), data: ByteBuffer(string: "x"))
        try lasso.writeInbound(Self.bytes(.payload(payload)))  // downstream on a lasso: fine
        #expect(lasso.isActive)

        // The server end: a client payload on a lasso connection is refused.
        let (server, serverHandler, serverDelegate) = try Self.makeChannel(side: .acceptor)
        _ = try Self.readFrame(server)
        try server.writeInbound(Self.bytes(.clientHello(hello)))
        #expect(serverHandler.dup == .none && serverHandler.clientNonce == hello.nonce)
        try server.writeInbound(Self.bytes(.payload(payload)))
        #expect(!server.isActive)
        #expect(serverDelegate.payloads.isEmpty)

        // The client end in none mode refuses downstream payloads on a fling connection.
        let (fling, _, flingDelegate) = try Self.makeChannel(side: .dialer(.fling, ClientID(rawValue: 5)), dup: .none)
        try fling.writeInbound(
            Self.bytes(.serverHello(ServerHello(nonce: HelloNonce(high: 9, low: 9), requiresProof: false))))
        try fling.writeInbound(Self.bytes(.payload(payload)))
        #expect(!fling.isActive)
        #expect(flingDelegate.payloads.isEmpty)
        _ = try? lasso.finish()
    }

    static let agreement = TunnelAgreement(
        payloadBytes: 10000, fecDataShards: 0, fecParityShards: 0, localProtocol: .tcp)

    @Test("a server whose --frags and --fec differ is refused by the client, naming both flags and both values")
    func clientRefusesDifferentServer() throws {
        let (channel, handler, delegate) = try Self.makeChannel(
            side: .dialer(.sync, ClientID(rawValue: 7)), agreement: Self.agreement)
        var theirs = Self.agreement
        theirs.payloadBytes = 65536
        theirs.fecDataShards = 10
        theirs.fecParityShards = 3
        let hello = ServerHello(nonce: HelloNonce(high: 1, low: 2), requiresProof: false, agreement: theirs)
        try channel.writeInbound(Self.bytes(.serverHello(hello)))
        #expect(delegate.ready.isEmpty)
        #expect(!handler.canSend)
        let reported = try #require(delegate.mismatches.first)
        #expect(
            reported.map(\.description) == [
                "--frags: this end 10000, the peer 65536", "--fec: this end 0:0, the peer 10:3",
            ])
        #expect(!channel.isActive)
    }

    @Test(
        "a client that declares another --protocol is refused by the server; a matching one is served with its tuning")
    func serverChecksDeclaredSettings() throws {
        let tuning = TunnelConfiguration(role: .client).tuning
        var udp = Self.agreement
        udp.localProtocol = .udp
        for (theirs, refused) in [(udp, true), (Self.agreement, false)] {
            let (channel, _, delegate) = try Self.makeChannel(side: .acceptor, agreement: Self.agreement)
            _ = try channel.readOutbound(as: ByteBuffer.self)  // the server hello
            let hello = ClientHello(
                kind: .sync, clientID: ClientID(rawValue: 9), nonce: HelloNonce(high: 3, low: 4), tuning: tuning,
                agreement: theirs)
            try channel.writeInbound(Self.bytes(.clientHello(hello)))
            if refused {
                #expect(delegate.mismatches.first?.map(\.flag) == ["--protocol"])
                #expect(delegate.ready.isEmpty)
                #expect(!channel.isActive)
            } else {
                #expect(delegate.mismatches.isEmpty)
                #expect(delegate.ready.first??.tuning == tuning)
            }
        }
    }
}
