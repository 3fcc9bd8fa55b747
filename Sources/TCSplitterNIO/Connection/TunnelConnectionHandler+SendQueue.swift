import NIOCore
import TCSplitterCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TunnelConnectionHandler {
    /// Samples what the kernel took from this connection and applies `SendQueueBound`'s answer:
    /// `TCP_NOTSENT_LOWAT` on the socket (the kernel holds at most that many unsent bytes, so the
    /// channel turns unwritable once its own buffer reaches the same size: the channel's high-water
    /// mark). Called by the link's housekeeping for each data connection this end sends on.
    func boundSendQueue(now: NIODeadline) {
        guard let channel = self.channel, self.payloadBudget > 0 else { return }
        // `bufferedBytes` is a channel option lookup: read only when a sample is due.
        if let limit = self.sendQueue.sample(takenBytes: self.payloadBytesWritten - self.bufferedBytes, now: now) {
            Self.apply(limitBytes: limit, to: channel)
        }
    }

    private static func apply(limitBytes: Int, to channel: Channel) {
        if let provider = channel as? SocketOptionProvider {
            _ = provider.unsafeSetSocketOption(
                level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_NOTSENT_LOWAT),
                value: CInt(clamping: limitBytes))
        }
        try? channel.syncOptions?.setOption(
            .writeBufferWaterMark,
            value: ChannelOptions.Types.WriteBufferWaterMark(low: limitBytes / 2, high: limitBytes))
    }
}
