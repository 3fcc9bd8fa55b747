import NIOCore
import TCSplitterCore

/// Turns the bytes of a tunnel connection into `Frame`s (wire format v2, see `Frame`), cutting
/// them with a `FrameAssembler` (whole frames are sliced out of each read; a frame cut by a read
/// is gathered once).
///
/// A frame is only passed on once all of it has arrived; garbage, an unknown version or an
/// oversize length fails at once (an error fired down the pipeline, after which the reader
/// ignores the connection's bytes), and `TunnelConnectionHandler` closes the connection. Bytes
/// left over when the peer ends the connection, or when it closes, are a cut frame:
/// `truncatedFrame`.
///
/// On a keyed tunnel every frame after the hellos is sealed (`FrameCipher`): its body is opened
/// before it is parsed, and an unsealed or forged one fails the connection.
///
/// With a `sink` (the connection's `TunnelConnectionHandler`, next in the pipeline) frames are
/// handed to it directly instead of through `fireChannelRead`, which boxes every frame in an
/// `NIOAny` existential and casts it back out (one allocation and one dynamic cast per payload).
/// Errors and events still travel down the pipeline.
final class FrameReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame

    private var assembler: FrameAssembler
    private let security: ConnectionSecurity
    /// Where frames go when not down the pipeline.
    private let sink: FrameSink?
    /// A decoding error was fired (or the cut frame reported): nothing more is read.
    private var failed = false

    init(limits: FrameLimits, security: ConnectionSecurity = ConnectionSecurity(key: nil), sink: FrameSink? = nil) {
        self.assembler = FrameAssembler(limits: limits)
        self.security = security
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        self.assembler.append(self.unwrapInboundIn(data))
        do {
            while var envelope = try self.assembler.next() {
                if let cipher = self.security.cipher {
                    envelope.body = try cipher.open(header: envelope.header, body: envelope.body)
                } else if self.security.key != nil && !Frame.isHello(envelope.type) {
                    throw FrameCipherError.authenticationFailed  // a frame before the keyed hello completed
                }
                let frame = try Frame(type: envelope.type, body: &envelope.body)
                if let sink = self.sink {
                    sink.received(frame: frame)
                } else {
                    context.fireChannelRead(self.wrapInboundOut(frame))
                }
                guard !self.failed else { return }  // removed from the pipeline meanwhile
            }
        } catch {
            self.fail(context: context, error: error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.reportCutFrame(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.reportCutFrame(context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failed = true
    }

    private func reportCutFrame(context: ChannelHandlerContext) {
        guard !self.failed, self.assembler.bufferedBytes > 0 else { return }
        self.fail(
            context: context, error: FrameDecodingError.truncatedFrame(bufferedBytes: self.assembler.bufferedBytes))
    }

    private func fail(context: ChannelHandlerContext, error: Error) {
        self.failed = true
        self.assembler = FrameAssembler(limits: self.assembler.limits)  // free what it held
        context.fireErrorCaught(error)
    }
}

/// Takes frames from a `FrameReader` without the pipeline's type-erased hop.
protocol FrameSink: AnyObject {
    /// A whole, opened and parsed frame arrived.
    func received(frame: Frame)
}
