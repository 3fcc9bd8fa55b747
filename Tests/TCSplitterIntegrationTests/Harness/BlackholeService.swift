import NIOCore
import NIOPosix
import Synchronization

/// A service that accepts connections and never reads from them (`autoRead` off): whatever is
/// sent to it piles up in the sender's buffers, which is what a backpressure test needs.
final class BlackholeService: Sendable {
    private let listener: Channel
    private let accepted: AcceptedChannels

    private init(listener: Channel, accepted: AcceptedChannels) {
        self.listener = listener
        self.accepted = accepted
    }

    /// The port it listens on (loopback).
    var port: Int { self.listener.localAddress?.port ?? 0 }

    /// How many connections it accepted.
    var acceptedConnections: Int { self.accepted.channels.withLock { $0.count } }

    /// Starts listening on a free loopback port.
    static func start(group: EventLoopGroup) async throws -> BlackholeService {
        let accepted = AcceptedChannels()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                accepted.channels.withLock { $0.append(channel) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return BlackholeService(listener: listener, accepted: accepted)
    }

    /// Closes the listener and every accepted connection.
    func close() async {
        try? await self.listener.close()
        for connection in self.accepted.channels.withLock({ $0 }) { try? await connection.close() }
    }
}

/// The accepted channels, shared with the child initializer.
private final class AcceptedChannels: Sendable {
    /// Every connection accepted so far.
    let channels = Mutex<[Channel]>([])
}

/// Runs `body` with a `BlackholeService` on a free loopback port, closed afterwards.
func withBlackhole<T>(group: EventLoopGroup, _ body: (BlackholeService) async throws -> T) async throws -> T {
    let blackhole = try await BlackholeService.start(group: group)
    let outcome: Result<T, Error>
    do {
        outcome = .success(try await body(blackhole))
    } catch {
        outcome = .failure(error)
    }
    await blackhole.close()
    return try outcome.get()
}
