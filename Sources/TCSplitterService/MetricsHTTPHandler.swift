import NIOCore
import NIOHTTP1

/// Answers `GET /metrics` with the Prometheus text that `render` produces, anything else with
/// 404 (405 for methods other than GET and HEAD). Thin: it only parses the request line and
/// writes the response; `render` takes the snapshot and formats it.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The content type of the Prometheus text exposition format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let render: @Sendable () -> EventLoopFuture<ByteBuffer>
    private var request: HTTPRequestHead?

    /// A handler serving what `render` returns.
    init(render: @escaping @Sendable () -> EventLoopFuture<ByteBuffer>) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.request = head
        case .body:
            break
        case .end:
            guard let head = self.request else { return }
            self.request = nil
            self.respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            self.write(.methodNotAllowed, body: "only GET /metrics\n", for: head, context: context)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            self.write(.notFound, body: "not found: try /metrics\n", for: head, context: context)
            return
        }
        self.render().hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let text):
                self.write(.ok, body: text, contentType: Self.contentType, for: head, context: context)
            case .failure(let error):
                self.write(.serviceUnavailable, body: "no snapshot: \(error)\n", for: head, context: context)
            }
        }
    }

    private func write(
        _ status: HTTPResponseStatus, body: String, for head: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        self.write(
            status, body: context.channel.allocator.buffer(string: body), contentType: "text/plain; charset=utf-8",
            for: head, context: context)
    }

    private func write(
        _ status: HTTPResponseStatus,
        body: ByteBuffer,
        contentType: String,
        for head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let sent = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: sent)
        if !head.isKeepAlive {
            sent.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension MetricsHTTPHandler: Sendable {}
