import Logging
import NIOCore
import NIOPosix
import TCSplitterCore
import Testing

@testable import TCSplitterNIO

/// A session that opens before NIO has registered its accepted local socket (the server's
/// `opened` read in the same event-loop pass as the accept) must still read that socket. NIO
/// forgets a read asked for before registration; this hung one session in a few hundred in CI.
@Suite struct LocalReadOrderTests {
    @Test(
        "a session opened inside the accept, before registration, still reads its local socket", .timeLimit(.minutes(1))
    )
    func openBeforeRegistrationReads() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let state = try await loop.submit { NIOLoopBound(AcceptedSessions(eventLoop: loop), eventLoop: loop) }.get()
        let listener = try await TunnelBootstraps.localListener(on: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let link = state.value.link
                    let session = TunnelSession(
                        id: SessionID.random(), link: link, configuration: link.configuration, logger: link.logger,
                        now: .now())
                    try channel.pipeline.syncOperations.addHandler(LocalStreamHandler(session: session))
                    session.attach(localChannel: channel)
                    link.add(session)
                    #expect(!channel.isActive, "the initializer runs before registration")
                    session.open()  // as if `opened` had arrived already
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let sender = try await ClientBootstrap(group: loop).connect(to: listener.localAddress!).get()
        try await sender.writeAndFlush(ByteBuffer(repeating: 7, count: 1000)).get()

        var bytesRead: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while bytesRead < 1000 && ContinuousClock.now < deadline {
            bytesRead = try await loop.submit { state.value.link.sessions.values.first?.bytesFromLocal ?? 0 }.get()
            if bytesRead < 1000 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(bytesRead == 1000, "the session read \(bytesRead) of 1000 bytes from its local socket")

        try await loop.submit { state.value.link.closeAll() }.get()
        try? await sender.close()
        try? await listener.close()
        try await group.shutdownGracefully()
    }
}

/// The link the accepted sessions join (event-loop bound).
private final class AcceptedSessions {
    let link: TunnelLink

    init(eventLoop: EventLoop) {
        var configuration = TunnelConfiguration(role: .client)
        configuration.tickInterval = .zero
        configuration.tockInterval = .zero
        self.link = TunnelLink(
            eventLoop: eventLoop, configuration: configuration, logger: Logger(label: "test"), isClient: true)
    }
}
