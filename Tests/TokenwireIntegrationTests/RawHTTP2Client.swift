import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TokenwireHTTP2

/// What came back on one stream, exactly as sent.
struct RawResponse: Sendable {
    var headers: [HTTP2Header] = []
    var trailers: [HTTP2Header] = []
    var data: [UInt8] = []
    var resetCode: HTTP2ErrorCode?

    /// `grpc-status` from the trailers, or from the headers of a trailers-only response.
    var grpcStatus: Int? { (trailers.first(named: "grpc-status") ?? headers.first(named: "grpc-status")).flatMap { Int($0) } }
    var grpcMessage: String { trailers.first(named: "grpc-message") ?? headers.first(named: "grpc-message") ?? "" }
    var httpStatus: String? { headers.first(named: ":status") }
}

/// A bare HTTP/2 client for sending what no gRPC client would: any headers, any bytes.
final class RawHTTP2Client: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<HTTP2ConnectionHandler>
    private let collector: NIOLoopBound<RawResponseCollector>

    private init(channel: any Channel, handler: NIOLoopBound<HTTP2ConnectionHandler>, collector: NIOLoopBound<RawResponseCollector>) {
        self.channel = channel
        self.handler = handler
        self.collector = collector
    }

    static func connect(port: Int) async throws -> RawHTTP2Client {
        // The handler is taken in the initializer: a server that closes the connection at
        // once (a limit, a timeout) must not make the client lose it.
        let made = NIOLockedValueBox<(NIOLoopBound<HTTP2ConnectionHandler>, NIOLoopBound<RawResponseCollector>)?>(nil)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2ConnectionHandler(role: .client, eventLoop: channel.eventLoop, logger: Logger(label: "raw"))
                    let collector = RawResponseCollector()
                    handler.delegate = collector
                    try channel.pipeline.syncOperations.addHandler(handler)
                    made.withLockedValue {
                        $0 = (NIOLoopBound(handler, eventLoop: channel.eventLoop), NIOLoopBound(collector, eventLoop: channel.eventLoop))
                    }
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let (handler, collector) = made.withLockedValue { $0 }!
        return RawHTTP2Client(channel: channel, handler: handler, collector: collector)
    }

    /// Sends one request and waits for its stream to close.
    func send(path: String, contentType: String? = "application/grpc", method: String = "POST", extraHeaders: [HTTP2Header] = [], body: [UInt8]) async throws -> RawResponse {
        try await open(path: path, contentType: contentType, method: method, extraHeaders: extraHeaders, body: body, endStream: true).get()
    }

    /// Sends a request's headers and `body`, ending the request only if `endStream`;
    /// returns the response, which arrives when the stream closes.
    func open(
        path: String, contentType: String? = "application/grpc", method: String = "POST", extraHeaders: [HTTP2Header] = [],
        body: [UInt8], endStream: Bool
    ) async throws -> EventLoopFuture<RawResponse> {
        var headers = [HTTP2Header(":method", method), HTTP2Header(":scheme", "http"), HTTP2Header(":path", path), HTTP2Header(":authority", "localhost")]
        if let contentType { headers.append(HTTP2Header("content-type", contentType)) }
        headers.append(HTTP2Header("te", "trailers"))
        headers += extraHeaders
        let (handler, collector, requestHeaders) = (self.handler, self.collector, headers)
        return try await channel.eventLoop.submit { () -> EventLoopFuture<RawResponse> in
            let outbound = handler.value.makeOutboundStream(headers: requestHeaders)
            if endStream {
                outbound.writeAndFinish({ $0.writeBytes(body) }, trailers: nil)
            } else {
                _ = try outbound.enqueue { $0.writeBytes(body) }
            }
            let promise = handler.eventLoop.makePromise(of: RawResponse.self)
            do {
                let id = try handler.value.startRequest(outbound: outbound)
                collector.value.waiters[id] = promise
            } catch {
                promise.fail(error)
            }
            return promise.futureResult
        }.get()
    }

    /// Sends a PING frame.
    func ping() async throws {
        let handler = self.handler
        try await channel.eventLoop.submit { handler.value.sendPing(payload: 42) }.get()
    }

    /// The GOAWAY frames received so far.
    func goAways() async throws -> [HTTP2ErrorCode] {
        let collector = self.collector
        return try await channel.eventLoop.submit { collector.value.goAways }.get()
    }

    /// The last-stream-id of each GOAWAY received so far: streams above it were not processed.
    func goAwayLastStreamIDs() async throws -> [HTTP2StreamID] {
        let collector = self.collector
        return try await channel.eventLoop.submit { collector.value.goAwayLastStreamIDs }.get()
    }

    /// Waits until the connection closes.
    func closeFuture() async throws {
        try await channel.closeFuture.get()
    }

    func close() async {
        try? await channel.close()
    }
}

final class RawResponseCollector: HTTP2ConnectionDelegate {
    var responses: [HTTP2StreamID: RawResponse] = [:]
    var waiters: [HTTP2StreamID: EventLoopPromise<RawResponse>] = [:]
    var goAways: [HTTP2ErrorCode] = []
    var goAwayLastStreamIDs: [HTTP2StreamID] = []

    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
        if responses[streamID, default: RawResponse()].headers.isEmpty {
            responses[streamID, default: RawResponse()].headers = headers
        } else {
            responses[streamID, default: RawResponse()].trailers = headers
        }
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {
        responses[streamID, default: RawResponse()].data += data.readableBytesView
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {}

    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        var response = responses.removeValue(forKey: streamID) ?? RawResponse()
        if errorCode != .noError { response.resetCode = errorCode }
        waiters.removeValue(forKey: streamID)?.succeed(response)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        goAways.append(errorCode)
        goAwayLastStreamIDs.append(lastStreamID)
    }

    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {
        for waiter in waiters.values { waiter.fail(error ?? ChannelError.ioOnClosedChannel) }
        waiters.removeAll()
    }
}

/// A length-prefixed gRPC message around `payload`.
func framed(_ payload: [UInt8], compressed: Bool = false, declaredLength: Int? = nil) -> [UInt8] {
    let length = UInt32(declaredLength ?? payload.count)
    return [compressed ? 1 : 0, UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)] + payload
}

/// `GenerateRequest{model: "synthetic/flood", max_tokens: 3}` as protobuf.
let floodRequestBytes: [UInt8] = [0x0a, 0x0f] + Array("synthetic/flood".utf8) + [0x18, 0x03]
