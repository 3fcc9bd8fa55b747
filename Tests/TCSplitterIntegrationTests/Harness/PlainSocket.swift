import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Plain POSIX loopback sockets, for what the tests must see without NIO in between: whether a
/// connection ended with EOF (read returns 0) or a reset, and free ports to reuse.
enum PlainSocket {
    /// How a connection's input ended.
    enum Ending: Equatable, Sendable {
        /// An orderly end of file (the peer's FIN).
        case endOfFile
        /// A reset, or another read error (its errno).
        case error(Int32)
        /// Nothing ended it within the time limit.
        case timedOut
    }

    /// What one exchange saw.
    struct Exchange: Sendable {
        /// Every byte read before the input ended.
        var reply: [UInt8]
        /// How the input ended.
        var ending: Ending
    }

    /// `count` distinct loopback ports that were free a moment ago (bound to port 0 together,
    /// then closed). Nothing listens on them afterwards.
    static func reservePorts(_ count: Int) throws -> [Int] {
        var descriptors: [Int32] = []
        defer { for descriptor in descriptors { close(descriptor) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let descriptor = try self.makeSocket()
            descriptors.append(descriptor)
            var address = self.loopback(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw HarnessError("bind(127.0.0.1:0) failed: errno \(errno)") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0 else { throw HarnessError("getsockname failed: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    /// Connects to `127.0.0.1:port`; with a `primer`, writes it and reads as many bytes back
    /// first (so the path is known to be open); then writes `request`, optionally shuts its write
    /// side, and reads until the input ends or `timeout` passes. The reply includes the primer's.
    /// Runs on its own thread (blocking calls).
    static func exchange(
        port: Int,
        primer: [UInt8] = [],
        request: [UInt8],
        shutWriteSide: Bool,
        timeout: Duration
    ) async throws -> Exchange {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        try self.blockingExchange(
                            port: port,
                            primer: primer,
                            request: request,
                            shutWriteSide: shutWriteSide,
                            timeout: timeout
                        )
                    }
                )
            }
            thread.name = "tcsplitter-test-plain-socket"
            thread.start()
        }
    }

    private static func blockingExchange(
        port: Int,
        primer: [UInt8],
        request: [UInt8],
        shutWriteSide: Bool,
        timeout: Duration
    ) throws -> Exchange {
        let deadline = ContinuousClock.now + timeout
        let descriptor = try self.dial(port: port)
        defer { close(descriptor) }
        var reply: [UInt8] = []
        if !primer.isEmpty {
            try self.sendAll(primer, on: descriptor)
            if let ended = self.receive(on: descriptor, into: &reply, until: primer.count, deadline: deadline) {
                return Exchange(reply: reply, ending: ended)
            }
        }
        if let failure = try self.sendAllUnlessReset(request, on: descriptor) {
            // The peer reset the connection before the request went out (a refused session can
            // be reset that early on a loaded machine): that is how this exchange ended.
            return Exchange(reply: reply, ending: .error(failure))
        }
        if shutWriteSide, shutdown(descriptor, Int32(SHUT_WR)) != 0 {
            throw HarnessError("shutdown(SHUT_WR) failed: errno \(errno)")
        }
        let ending = self.receive(on: descriptor, into: &reply, until: nil, deadline: deadline)
        return Exchange(reply: reply, ending: ending ?? .timedOut)
    }

    /// A blocking socket connected to `127.0.0.1:port`.
    static func dial(port: Int) throws -> Int32 {
        let descriptor = try self.makeSocket()
        var address = self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(descriptor)
            throw HarnessError("connect(127.0.0.1:\(port)) failed: errno \(error)")
        }
        return descriptor
    }

    static func sendAll(_ bytes: [UInt8], on descriptor: Int32) throws {
        if let failure = try self.sendAllUnlessReset(bytes, on: descriptor) {
            throw HarnessError("send failed: errno \(failure) (connection reset)")
        }
    }

    /// Sends every byte; returns the errno when the peer reset the connection (ECONNRESET, EPIPE)
    /// and throws for any other failure. MSG_NOSIGNAL: a reset socket must not raise SIGPIPE.
    static func sendAllUnlessReset(_ bytes: [UInt8], on descriptor: Int32) throws -> Int32? {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            guard result > 0 else {
                let error = errno
                if error == ECONNRESET || error == EPIPE { return error }
                throw HarnessError("send failed after \(written) bytes: errno \(error)")
            }
            written += result
        }
        return nil
    }

    /// Reads into `reply` until it holds `count` bytes (then `nil`), or the input ends, or the
    /// deadline passes (then how it ended).
    static func receive(
        on descriptor: Int32,
        into reply: inout [UInt8],
        until count: Int?,
        deadline: ContinuousClock.Instant
    ) -> Ending? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let count, reply.count >= count { return nil }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return .timedOut }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(
                remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1
            )
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if received > 0 {
                reply += buffer[0..<received]
            } else if received == 0 {
                return .endOfFile
            } else if errno != EINTR && errno != EAGAIN {
                return .error(errno)
            }
        }
    }

    static func makeSocket() throws -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
        #endif
        guard descriptor >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        return descriptor
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
