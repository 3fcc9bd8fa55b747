import NIOCore
import NIOPosix
import TCSplitterNIO
import TCSplitterTools

/// Runs `body` with a one-thread event loop group for in-process services and probes, and shuts
/// the group down afterwards, even when `body` throws.
func withEventLoopGroup<T>(_ body: (MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let outcome: Result<T, Error>
    do {
        outcome = .success(try await body(group))
    } catch {
        outcome = .failure(error)
    }
    try await group.shutdownGracefully()
    return try outcome.get()
}

/// Runs `body` with an in-process echo service (`EchoService`) on a free loopback port, closed
/// afterwards. `body` gets the port.
func withEchoService<T>(group: EventLoopGroup, _ body: (Int) async throws -> T) async throws -> T {
    let channel = try await EchoService.start(host: "127.0.0.1", port: 0, group: group).get()
    let outcome: Result<T, Error>
    do {
        guard let port = channel.localAddress?.port else { throw HarnessError("the echo service has no port") }
        outcome = .success(try await body(port))
    } catch {
        outcome = .failure(error)
    }
    try? await channel.close()
    return try outcome.get()
}

/// Probes `sessions` concurrent sessions of `bytes` each through `127.0.0.1:port` (an echo
/// path), and returns one description per session that did not come back byte-exact (SHA-256).
func probeMismatches(
    port: Int,
    sessions: Int,
    bytes: Int,
    timeout: TimeAmount,
    group: EventLoopGroup
) async -> [String] {
    let futures = (0..<sessions).map { index in
        ProbeClient.run(
            host: "127.0.0.1",
            port: port,
            bytes: bytes,
            seed: 0x5EED_0000 &+ UInt64(index),
            timeout: timeout,
            group: group
        )
    }
    var mismatches: [String] = []
    for (index, future) in futures.enumerated() {
        do {
            let result = try await future.get()
            if !result.isExact {
                mismatches.append(
                    "session \(index): sent \(result.sentBytes) bytes, received \(result.receivedBytes), digests differ: \(result.sentDigest != result.receivedDigest)"
                )
            }
        } catch {
            mismatches.append("session \(index): \(error)")
        }
    }
    return mismatches
}
