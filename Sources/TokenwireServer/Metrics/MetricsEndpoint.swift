import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` over HTTP/1.1 (`--metrics-port`, `--metrics-host`): the server's metrics
/// in the Prometheus text format, for a Prometheus scrape. One response per connection
/// (`connection: close`); anything but `GET /metrics` gets 404 or 405.
enum MetricsEndpoint {
    /// Listens on `host:port` (port 0: any free port) on `group`.
    static func start(host: String, port: Int, group: any EventLoopGroup, metrics: ServerMetrics) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The decoder bounds a request head (80 KiB); bodies are read and dropped.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// Answers one request of a metrics connection.
///
/// - Important: Event-loop only (a channel handler).
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServerMetrics
    private var head: HTTPRequestHead?

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    /// A scrape is one short request: a connection that has not sent it within this long
    /// is closed.
    static let requestTimeout = TimeAmount.seconds(10)

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.requestTimeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let (status, contentType, body): (HTTPResponseStatus, String, ByteBuffer)
        if path != "/metrics" {
            (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", ByteBuffer(string: "not found: the metrics are at GET /metrics\n"))
        } else if head.method != .GET && head.method != .HEAD {
            (status, contentType, body) = (.methodNotAllowed, "text/plain; charset=utf-8", ByteBuffer(string: "use GET /metrics\n"))
        } else {
            (status, contentType, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", ByteBuffer(bytes: metrics.registry.emitToBuffer()))
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
