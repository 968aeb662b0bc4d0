import Logging
public import NIOCore
public import NIOPosix
public import TokenwireCore
import TokenwireHTTP2
public import TokenwireWire

/// A connection to a Tokenwire server (or any server of the `tokenwire.v1` contract).
///
/// One client holds one HTTP/2 connection; any number of calls share it at once.
///
/// ```swift
/// try await TokenwireClient.withConnection(host: "127.0.0.1", port: 50051) { client in
///     for try await frame in client.generate(GenerateRequest(model: "synthetic/paced")) {
///         if case .text(let text) = frame.event { print(text, terminator: "") }
///     }
/// }
/// ```
public final class TokenwireClient: Sendable {
    public let configuration: ClientConfiguration
    /// `host:port` of the server.
    public let target: String
    private let channel: any Channel
    private let handler: NIOLoopBound<HTTP2ConnectionHandler>
    private let grpc: NIOLoopBound<GRPCClientConnection>

    private init(channel: any Channel, handler: HTTP2ConnectionHandler, grpc: GRPCClientConnection, target: String, configuration: ClientConfiguration) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.grpc = NIOLoopBound(grpc, eventLoop: channel.eventLoop)
        self.target = target
        self.configuration = configuration
    }

    /// Connects to a server.
    /// - Throws: `TokenwireError` (UNAVAILABLE) when the server cannot be reached.
    public static func connect(
        host: String, port: Int, configuration: ClientConfiguration = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TokenwireClient {
        let target = "\(host):\(port)"
        let http2 = configuration.http2
        // The handler must be in place before the first byte arrives: the server's
        // SETTINGS may come right after the TCP handshake.
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2ConnectionHandler(
                        role: .client, eventLoop: channel.eventLoop, configuration: http2,
                        logger: Logger(label: "tokenwire.client"))
                    handler.delegate = GRPCClientConnection(target: target)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw TokenwireError.unavailable("cannot connect to \(target): \(error) (is `tokenwire serve` running there?)")
        }
        return try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: HTTP2ConnectionHandler.self)
            guard let grpc = handler.delegate as? GRPCClientConnection else {
                throw TokenwireError.unavailable("the connection to \(target) closed while it was being set up")
            }
            return TokenwireClient(channel: channel, handler: handler, grpc: grpc, target: target, configuration: configuration)
        }.get()
    }

    /// Connects, runs `body`, and closes the connection however `body` ends.
    public static func withConnection<Result: Sendable>(
        host: String, port: Int, configuration: ClientConfiguration = .init(),
        _ body: (TokenwireClient) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(host: host, port: port, configuration: configuration)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Closes the connection; calls still open end with UNAVAILABLE.
    public func close() async {
        try? await channel.close()
    }

    // MARK: Calls

    /// Streams one completion, frame by frame.
    /// - Parameters:
    ///   - request: model, messages and limits.
    ///   - deadline: how long the whole call may take (sent as `grpc-timeout`); past it
    ///     the stream throws DEADLINE_EXCEEDED.
    public func generate(_ request: GenerateRequest, deadline: Duration? = nil) -> TokenFrameStream {
        TokenFrameStream(messages: call("/tokenwire.v1.TokenStream/Generate", request, deadline: deadline))
    }

    /// Asks for the whole completion as one message.
    /// - Throws: `TokenwireError` with the call's status when it is not OK.
    public func complete(_ request: GenerateRequest, deadline: Duration? = nil) async throws -> Completion {
        let message = try await unary("/tokenwire.v1.TokenStream/Complete", request, deadline: deadline)
        return try decodeResponse(Completion.self, message)
    }

    /// `grpc.health.v1.Health/Check`: the serving status of `service` ("" for the server).
    public func checkHealth(service: String = "", deadline: Duration? = .seconds(10)) async throws -> ServingStatus {
        let message = try await unary("/grpc.health.v1.Health/Check", HealthCheckRequest(service: service), deadline: deadline)
        return try decodeResponse(HealthCheckResponse.self, message).status
    }

    /// Starts any call of one request message; the response messages arrive undecoded.
    public func call(_ path: String, _ request: some WireMessage, deadline: Duration? = nil) -> GRPCMessageStream {
        var body = ByteBufferAllocator().buffer(capacity: 64)
        GRPCMessageFramer.appendMessage(request, to: &body)
        let timeout = deadline ?? configuration.defaultDeadline
        let (handler, grpc, configuration) = (self.handler, self.grpc, self.configuration)
        let box = NIOLoopBoundBox.makeEmptyBox(valueType: GRPCClientStream.self, eventLoop: channel.eventLoop)
        let sequence = GRPCMessageStream.Producer.makeSequence(
            elementType: ByteBuffer.self,
            failureType: (any Error).self,
            backPressureStrategy: .init(
                lowWatermark: max(1, configuration.bufferedFrames / 4), highWatermark: max(2, configuration.bufferedFrames)),
            finishOnDeinit: true,
            delegate: GRPCClientStream.Delegate(stream: box))
        let source = sequence.source
        let request = body
        channel.eventLoop.execute {
            box.value = grpc.value.startCall(
                on: handler.value, path: path, request: request, timeout: timeout, configuration: configuration, source: source)
        }
        return GRPCMessageStream(producer: sequence.sequence)
    }

    private func unary(_ path: String, _ request: some WireMessage, deadline: Duration?) async throws -> ByteBuffer {
        var result: ByteBuffer?
        for try await message in call(path, request, deadline: deadline) {
            guard result == nil else {
                throw TokenwireError.internal("\(path) answered with more than one message")
            }
            result = message
        }
        guard let result else { throw TokenwireError.internal("\(path) ended with OK but sent no message") }
        return result
    }

    private func decodeResponse<Message: WireMessage>(_ type: Message.Type, _ bytes: ByteBuffer) throws -> Message {
        do {
            return try Message(decoding: bytes)
        } catch {
            throw TokenwireError.internal("the server's answer could not be decoded: \(error.message)")
        }
    }
}
