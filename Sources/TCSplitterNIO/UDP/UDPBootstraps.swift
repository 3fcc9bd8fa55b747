import NIOCore
import NIOPosix

/// The socket options of the UDP sockets `--protocol udp` uses, in one place.
package enum UDPBootstraps {
    /// Every read gets a buffer that holds the largest UDP datagram (65,535 − 8 bytes), so the
    /// kernel never truncates one; the tunnel then refuses what exceeds 65,507 bytes, counted.
    package static let receiveBufferBytes = 65_536
    /// Socket buffers asked for (the kernel caps them at net.core.rmem_max / wmem_max).
    package static let socketBufferBytes = 4 << 20

    /// The client's `--listen` socket: read continuously; each source address is a session.
    static func listener(on eventLoop: EventLoop) -> DatagramBootstrap {
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.receiveBufferBytes))
            .channelOption(.maxMessagesPerRead, value: 64)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(Self.socketBufferBytes))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(Self.socketBufferBytes))
    }

    /// A server session's socket connected to `--forward`: reads are driven by the session.
    static func forwardSocket(on eventLoop: EventLoop) -> DatagramBootstrap {
        DatagramBootstrap(group: eventLoop)
            .channelOption(.autoRead, value: false)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.receiveBufferBytes))
            .channelOption(.maxMessagesPerRead, value: UInt(UDPLocalHandler.datagramsPerRead))
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(Self.socketBufferBytes))
    }
}
