import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A loopback TCP connection a test drives step by step (write, await the echo, do something to
/// the tunnel, write more), so a session is known to be open and mid-stream at a chosen moment.
/// Blocking socket calls, each run on its own thread.
final class HeldConnection: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }

    /// Connects to `127.0.0.1:port`.
    static func open(port: Int) async throws -> HeldConnection {
        try await Self.onThread { HeldConnection(descriptor: try PlainSocket.dial(port: port)) }
    }

    /// Writes every byte of `bytes`.
    func send(_ bytes: [UInt8]) async throws {
        try await Self.onThread { try PlainSocket.sendAll(bytes, on: self.descriptor) }
    }

    /// Reads until `count` bytes came back, or the input ended, or `timeout` passed.
    func receive(count: Int, timeout: Duration) async throws -> PlainSocket.Exchange {
        try await Self.onThread {
            var reply: [UInt8] = []
            let ending = PlainSocket.receive(
                on: self.descriptor, into: &reply, until: count, deadline: ContinuousClock.now + timeout
            )
            return PlainSocket.Exchange(reply: reply, ending: ending ?? .timedOut)
        }
    }

    /// Shuts the write side (the peer reads end of file).
    func shutWriteSide() throws {
        guard shutdown(self.descriptor, Int32(SHUT_WR)) == 0 else {
            throw HarnessError("shutdown(SHUT_WR) failed: errno \(errno)")
        }
    }

    /// Reads until the input ends or `timeout` passes.
    func readToEnd(timeout: Duration) async throws -> PlainSocket.Exchange {
        try await Self.onThread {
            var reply: [UInt8] = []
            let ending = PlainSocket.receive(
                on: self.descriptor, into: &reply, until: nil, deadline: ContinuousClock.now + timeout
            )
            return PlainSocket.Exchange(reply: reply, ending: ending ?? .timedOut)
        }
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "tcsplitter-test-held-connection"
            thread.start()
        }
    }
}
