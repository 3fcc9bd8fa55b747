import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import TCSplitterService

/// The `/metrics` handler on an `EmbeddedChannel`, fed parsed request parts.
@Suite struct MetricsHTTPHandlerTests {
    /// What one request got back.
    struct Response {
        var head: HTTPResponseHead
        var body: String
    }

    /// Sends `method uri` (HTTP/1.1, keep-alive unless `close`) and collects the response.
    static func request(_ method: HTTPMethod, _ uri: String, close: Bool = false) throws -> (Response, EmbeddedChannel)
    {
        let channel = EmbeddedChannel()
        let loop = channel.eventLoop
        let render: @Sendable () -> EventLoopFuture<ByteBuffer> = {
            loop.makeSucceededFuture(ByteBuffer(string: "tcsplitter_sessions_open 1.0\n"))
        }
        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9090)).wait()
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        if close { head.headers.add(name: "Connection", value: "close") }
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let responseHead) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw HTTPParserError.invalidConstant
        }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .body(.byteBuffer(let buffer)) = part { body += String(buffer: buffer) }
        }
        return (Response(head: responseHead, body: body), channel)
    }

    @Test("GET /metrics answers 200 with the rendered text in the Prometheus content type")
    func metrics() throws {
        let (response, channel) = try Self.request(.GET, "/metrics")
        #expect(response.head.status == .ok)
        #expect(response.head.headers["Content-Type"] == [MetricsHTTPHandler.contentType])
        #expect(response.head.headers["Content-Length"] == ["\(response.body.utf8.count)"])
        #expect(response.body == "tcsplitter_sessions_open 1.0\n")
        #expect(channel.isActive, "a keep-alive connection stays open")
    }

    @Test("a query string is ignored; Connection: close closes after the response")
    func closeAfterResponse() throws {
        let (response, channel) = try Self.request(.GET, "/metrics?name[]=x", close: true)
        #expect(response.head.status == .ok)
        #expect(response.head.headers["Connection"] == ["close"])
        #expect(!channel.isActive)
    }

    @Test("other paths get 404, other methods 405")
    func notFound() throws {
        #expect(try Self.request(.GET, "/").0.head.status == .notFound)
        #expect(try Self.request(.POST, "/metrics").0.head.status == .methodNotAllowed)
    }
}
