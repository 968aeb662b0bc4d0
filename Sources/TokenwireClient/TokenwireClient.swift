import Logging
public import NIOCore
import NIOSSL
public import NIOPosix
public import TokenwireCore
import TokenwireHTTP2
public import TokenwireWire

/// A connection to a Tokenwire server (or any server of the `tokenwire.v1` contract).
///
/// One client holds one HTTP/2 connection; any number of calls share it at once. When it
/// is lost, or the server sends GOAWAY, the next call opens a fresh one (with backoff), and
/// `generate` resumes a stream the loss cut (`ClientConfiguration.resumeAttempts`).
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
    private let host: String
    private let port: Int
    /// Every connection of this client runs on this loop, so its state is loop-bound.
    private let eventLoop: any EventLoop
    private let slot: NIOLoopBoundBox<ConnectionSlot>
    /// The TLS context every connection shares (`configuration.tls`).
    private let tls: NIOSSLContext?

    /// One HTTP/2 connection and its gRPC layer.
    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<HTTP2ConnectionHandler>
        let grpc: NIOLoopBound<GRPCClientConnection>

        /// Whether new calls can start on it (open, no GOAWAY). Loop only.
        var isUsable: Bool { channel.isActive && grpc.value.isUsable }
    }

    /// The connection calls use now, the one being opened, and whether the caller closed
    /// the client.
    struct ConnectionSlot {
        var current: Connection?
        var connecting: EventLoopFuture<Connection>?
        var isClosed = false
    }

    private init(host: String, port: Int, configuration: ClientConfiguration, eventLoop: any EventLoop, tls: NIOSSLContext?) {
        self.tls = tls
        self.host = host
        self.port = port
        self.target = "\(host):\(port)"
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.slot = NIOLoopBoundBox.makeBoxSendingValue(ConnectionSlot(), eventLoop: eventLoop)
    }

    /// Connects to a server.
    /// - Throws: `TokenwireError` (UNAVAILABLE) when the server cannot be reached.
    public static func connect(
        host: String, port: Int, configuration: ClientConfiguration = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TokenwireClient {
        let tls = try configuration.tls?.makeContext()
        let client = TokenwireClient(host: host, port: port, configuration: configuration, eventLoop: group.next(), tls: tls)
        _ = try await client.eventLoop.flatSubmit { client.connection(attempts: 1) }.get()
        return client
    }

    /// Connects, runs `body`, and closes the connection however `body` ends. `body` runs
    /// on the caller's actor (the main actor of an app's `main`, say), so it may use what
    /// that actor holds without being `Sendable`.
    public static func withConnection<Result: Sendable>(
        host: String, port: Int, configuration: ClientConfiguration = .init(),
        isolation: isolated (any Actor)? = #isolation,
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

    /// Closes the connection; calls still open end with UNAVAILABLE, and later calls fail
    /// (`TokenwireError.transport` is `.closedByCaller`).
    public func close() async {
        let channel = try? await eventLoop.submit { [slot] in
            slot.value.isClosed = true
            slot.value.current?.grpc.value.closingByCaller()
            return slot.value.current?.channel
        }.get()
        if let channel { try? await channel.close() }
    }

    /// The connection to start a call on: the current one if usable, else a new one.
    /// - Parameter attempts: connection attempts before failing, with doubling waits.
    private func connection(attempts: Int) -> EventLoopFuture<Connection> {
        eventLoop.assertInEventLoop()
        if slot.value.isClosed {
            return eventLoop.makeFailedFuture(TokenwireError(
                code: .unavailable, message: "the client for \(target) was closed by its caller", transport: .closedByCaller))
        }
        if let current = slot.value.current, current.isUsable { return eventLoop.makeSucceededFuture(current) }
        if let connecting = slot.value.connecting { return connecting }
        let connecting = open(attempt: 1, of: attempts)
        slot.value.current = nil
        slot.value.connecting = connecting
        connecting.whenComplete { [slot] result in
            slot.value.connecting = nil
            guard case .success(let connection) = result else { return }
            if slot.value.isClosed {
                connection.channel.close(promise: nil)
            } else {
                slot.value.current = connection
            }
        }
        return connecting
    }

    private func open(attempt: Int, of attempts: Int) -> EventLoopFuture<Connection> {
        let (target, http2, host, tls, serverName) = (self.target, configuration.http2, self.host, self.tls, configuration.tls?.serverName)
        // The handler must be in place before the first byte arrives: the server's
        // SETTINGS may come right after the TCP handshake.
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2ConnectionHandler(
                        role: .client, eventLoop: channel.eventLoop, configuration: http2,
                        logger: Logger(label: "tokenwire.client"))
                    handler.delegate = GRPCClientConnection(target: target, tls: tls != nil)
                    if let tls {
                        try channel.pipeline.syncOperations.addHandlers(
                            ClientTLS.makeHandler(context: tls, host: host, serverName: serverName),
                            TLSHandshakeWaiter(eventLoop: channel.eventLoop))
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        return bootstrap.connect(host: host, port: port).flatMap { channel -> EventLoopFuture<any Channel> in
            guard let waiter = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self) else {
                return channel.eventLoop.makeSucceededFuture(channel)
            }
            return waiter.handshake.futureResult.flatMapError { error in
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(TLSHandshakeFailed(error: error))
            }.map { channel }
        }.flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: HTTP2ConnectionHandler.self)
            guard let grpc = handler.delegate as? GRPCClientConnection else {
                throw TokenwireError(
                    code: .unavailable, message: "the connection to \(target) closed while it was being set up", transport: .connectionLost)
            }
            return Connection(
                channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                grpc: NIOLoopBound(grpc, eventLoop: channel.eventLoop))
        }.flatMapError { [self] error in
            if let failed = error as? TLSHandshakeFailed {
                // Another attempt meets the same certificate: say what to check now.
                return eventLoop.makeFailedFuture(TokenwireError(
                    code: .unavailable,
                    message: "the TLS handshake with \(target) failed: \(failed.error) (check --tls-ca, the server's certificate name, and --tls-cert/--tls-key if the server requires a client certificate)",
                    transport: .connectionLost))
            }
            guard attempt < attempts else {
                let tries = attempts > 1 ? " (\(attempts) attempts)" : ""
                return eventLoop.makeFailedFuture(TokenwireError(
                    code: .unavailable,
                    message: "cannot connect to \(target)\(tries): \(Self.describeConnectFailure(error)) (is `tokenwire serve` running there?)",
                    transport: .connectionLost))
            }
            let wait = min(configuration.reconnectBackoff * (1 << min(attempt - 1, 10)), .seconds(2))
            return eventLoop.flatScheduleTask(in: TimeAmount(wait)) { self.open(attempt: attempt + 1, of: attempts) }.futureResult
        }
    }

    /// A failed connection attempt in a person's words, not NIO's error dump.
    static func describeConnectFailure(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describeConnectFailure(first.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name does not resolve" }
            return "no address to connect to"
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused (nothing listens on that port)"
            case ETIMEDOUT: return "the connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "the host is unreachable"
            default: return "\(error)"
            }
        }
        if case ChannelError.connectTimeout(let timeout) = error { return "no answer within \(timeout) (ClientConfiguration.connectTimeout)" }
        return "\(error)"
    }

    // MARK: Calls

    /// Streams one completion, frame by frame.
    /// - Parameters:
    ///   - request: model, messages and limits.
    ///   - deadline: how long the whole call may take (sent as `grpc-timeout`); past it
    ///     the stream throws DEADLINE_EXCEEDED.
    ///   - metadata: headers for this call only, after the configuration's
    ///     (`ClientConfiguration.metadata`); a resume after a lost connection sends them again.
    public func generate(
        _ request: GenerateRequest, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) -> TokenFrameStream {
        let limit = deadline ?? configuration.defaultDeadline
        return TokenFrameStream(
            messages: call("/tokenwire.v1.TokenStream/Generate", request, deadline: deadline, metadata: metadata),
            again: .init(client: self, request: request, deadline: limit.map { .now + $0 }, metadata: metadata))
    }

    /// Asks for the whole completion as one message.
    /// - Throws: `TokenwireError` with the call's status when it is not OK.
    public func complete(
        _ request: GenerateRequest, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) async throws -> Completion {
        let message = try await unary("/tokenwire.v1.TokenStream/Complete", request, deadline: deadline, metadata: metadata)
        return try decodeResponse(Completion.self, message)
    }

    /// `grpc.health.v1.Health/Check`: the serving status of `service` ("" for the server).
    public func checkHealth(service: String = "", deadline: Duration? = .seconds(10)) async throws -> ServingStatus {
        let message = try await unary("/grpc.health.v1.Health/Check", HealthCheckRequest(service: service), deadline: deadline)
        return try decodeResponse(HealthCheckResponse.self, message).status
    }

    /// Starts any call of one request message; the response messages arrive undecoded.
    /// `metadata` is sent with this call only, after the configuration's.
    public func call(
        _ path: String, _ request: some WireMessage, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) -> GRPCMessageStream {
        var body = ByteBufferAllocator().buffer(capacity: 64)
        GRPCMessageFramer.appendMessage(request, to: &body)
        let timeout = deadline ?? configuration.defaultDeadline
        let configuration = self.configuration
        let slot = NIOLoopBoundBox.makeBoxSendingValue(GRPCClientStream.Slot(), eventLoop: eventLoop)
        let sequence = GRPCMessageStream.Producer.makeSequence(
            elementType: ByteBuffer.self,
            failureType: (any Error).self,
            backPressureStrategy: .init(
                lowWatermark: max(1, configuration.bufferedFrames / 4), highWatermark: max(2, configuration.bufferedFrames)),
            finishOnDeinit: true,
            delegate: GRPCClientStream.Delegate(slot: slot))
        let source = sequence.source
        let request = body
        let responseMetadata = ResponseMetadata()
        eventLoop.execute { [self] in
            connection(attempts: configuration.reconnectAttempts).whenComplete { result in
                guard !slot.value.consumerGone else { return }
                switch result {
                case .success(let connection):
                    slot.value.stream = connection.grpc.value.startCall(
                        on: connection.handler.value, path: path, request: request, timeout: timeout, configuration: configuration,
                        metadata: metadata, source: source, responseMetadata: responseMetadata)
                case .failure(let error):
                    source.finish(error)
                }
            }
        }
        return GRPCMessageStream(producer: sequence.sequence, responseMetadata: responseMetadata)
    }

    private func unary(
        _ path: String, _ request: some WireMessage, deadline: Duration?, metadata: [(name: String, value: String)] = []
    ) async throws -> ByteBuffer {
        var result: ByteBuffer?
        for try await message in call(path, request, deadline: deadline, metadata: metadata) {
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
