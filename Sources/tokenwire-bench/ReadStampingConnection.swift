import Logging
import NIOCore
import NIOPosix
import Synchronization
import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// `relay-load --client raw`: one HTTP/2 connection on the wrapper `TokenwireClient` uses,
/// reduced to what the load needs, that takes the clock where the relay harness's
/// `client.py` does: when a request is handed to the socket, and once per burst of socket
/// reads, on the connection's event loop, where each frame is decoded as it arrives.
/// `TokenwireClient` stamps a frame when the worker's task gets it, after a hop to that
/// task; only that placement of the clock differs.
///
/// The window is given back as soon as DATA arrives (a reader that is never behind, as
/// `client.py` is), and a call's deadline is its `grpc-timeout` plus a timer here that
/// resets the stream.
final class ReadStampingConnection: LoadConnection {
    let eventLoop: any EventLoop
    private let channel: any Channel
    private let state: NIOLoopBound<ReadStampingConnectionState>

    private init(eventLoop: any EventLoop, channel: any Channel, state: NIOLoopBound<ReadStampingConnectionState>) {
        self.eventLoop = eventLoop
        self.channel = channel
        self.state = state
    }

    /// Opens a connection.
    /// - Throws: NIO's connect error when the server cannot be reached.
    static func open(host: String, port: Int, group: any EventLoopGroup) async throws -> ReadStampingConnection {
        let target = "\(host):\(port)"
        let channel = try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2ConnectionHandler(
                        role: .client, eventLoop: channel.eventLoop, logger: Logger(label: "tokenwire-bench.raw-client"))
                    handler.delegate = ReadStampingConnectionState(target: target, handler: handler)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port).get()
        let state = try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: HTTP2ConnectionHandler.self)
            guard let state = handler.delegate as? ReadStampingConnectionState else {
                throw TokenwireError(code: .unavailable, message: "the connection to \(target) closed while it was being set up")
            }
            return NIOLoopBound(state, eventLoop: channel.eventLoop)
        }.get()
        return ReadStampingConnection(eventLoop: channel.eventLoop, channel: channel, state: state)
    }

    /// Makes one `Generate` call and waits for its end.
    /// - Returns: what the call received (its `RelayRequest`, the tokens' latencies in its
    ///   own tally), and the error it ended with (nil: OK). Cancelling the task resets the
    ///   call (CANCELLED); a task cancelled before its call started makes none.
    func generate(_ request: GenerateRequest, timeout: Double) async -> ReadStampingCall.Result {
        var body = ByteBuffer()
        GRPCMessageFramer.appendMessage(request, to: &body)
        let (state, eventLoop) = (state, eventLoop)
        let id = Self.nextCallID.add(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                eventLoop.execute { state.value.start(id, body, timeout: timeout, continuation: continuation) }
            }
        } onCancel: {
            eventLoop.execute { state.value.cancel(id) }
        }
    }

    /// Names a call for its cancellation, which may reach the loop before or after its start.
    private static let nextCallID = Atomic<UInt64>(0)

    func close() async {
        try? await channel.close()
    }
}

/// One call of a `ReadStampingConnection`.
struct ReadStampingCall {
    struct Result: Sendable {
        var request: RelayRequest
        var tally: RelayLoadTally
        var error: TokenwireError?
    }

    let id: UInt64
    var request: RelayRequest
    var tally = RelayLoadTally()
    var deframer = GRPCMessageDeframer()
    var status: GRPCStatus?
    var deadline: Scheduled<Void>?
    let continuation: CheckedContinuation<Result, Never>
}

/// The loop-bound side of a `ReadStampingConnection`: its calls, by stream id.
///
/// - Important: Event-loop only.
final class ReadStampingConnectionState: HTTP2ConnectionDelegate {
    private let target: String
    private unowned let handler: HTTP2ConnectionHandler
    private var calls: [HTTP2StreamID: ReadStampingCall] = [:]
    /// The stream of each call in flight, by the call's id.
    private var streams: [UInt64: HTTP2StreamID] = [:]
    /// Calls whose cancellation came before their start: they are not made. (An id whose
    /// cancellation came after its call ended stays here: only the end of a run cancels.)
    private var cancelledBeforeStart: Set<UInt64> = []
    private var closedReason: String?
    /// The clock read at the first callback of this burst of socket reads.
    private var readStamp: Int64?

    init(target: String, handler: HTTP2ConnectionHandler) {
        self.target = target
        self.handler = handler
    }

    func start(_ id: UInt64, _ body: ByteBuffer, timeout: Double, continuation: CheckedContinuation<ReadStampingCall.Result, Never>) {
        if cancelledBeforeStart.remove(id) != nil {
            let cut = TokenwireError(code: .cancelled, message: "the call was cancelled before it started")
            continuation.resume(returning: .init(request: RelayRequest(sentAt: MonotonicClock.now()), tally: .init(), error: cut))
            return
        }
        if let closedReason {
            let lost = TokenwireError(code: .unavailable, message: closedReason)
            continuation.resume(returning: .init(request: RelayRequest(sentAt: MonotonicClock.now()), tally: .init(), error: lost))
            return
        }
        let headers = [
            HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"),
            HTTP2Header(":path", "/tokenwire.v1.TokenStream/Generate"), HTTP2Header(":authority", target),
            HTTP2Header("content-type", "application/grpc"), HTTP2Header("te", "trailers"),
            HTTP2Header("grpc-timeout", GRPCTimeout.encode(.nanoseconds(RelayLoadConfiguration.nanoseconds(timeout)))),
        ]
        let outbound = handler.makeOutboundStream(headers: headers)
        outbound.writeAndFinish({ $0.writeImmutableBuffer(body) }, trailers: nil)
        // Starting the request submits it and flushes: it goes to the socket now.
        let sentAt = MonotonicClock.now()
        let streamID: HTTP2StreamID
        do {
            streamID = try handler.startRequest(outbound: outbound)
        } catch {
            let failed = TokenwireError(code: .unavailable, message: "cannot start a call on the connection to \(target): \(error)")
            continuation.resume(returning: .init(request: RelayRequest(sentAt: sentAt), tally: .init(), error: failed))
            return
        }
        var call = ReadStampingCall(id: id, request: RelayRequest(sentAt: sentAt), continuation: continuation)
        let bound = NIOLoopBound(self, eventLoop: handler.eventLoop)
        call.deadline = handler.eventLoop.scheduleTask(in: .nanoseconds(RelayLoadConfiguration.nanoseconds(timeout))) {
            bound.value.end(streamID, error: TokenwireError(code: .deadlineExceeded, message: "the call's deadline expired"), reset: true)
        }
        calls[streamID] = call
        streams[id] = streamID
    }

    /// The task waiting for call `id` was cancelled (the run's grace period is over): its
    /// stream is reset, or, not started yet, it will not be.
    func cancel(_ id: UInt64) {
        guard let streamID = streams[id] else {
            cancelledBeforeStart.insert(id)
            return
        }
        end(streamID, error: TokenwireError(code: .cancelled, message: "cut at the end of the grace period"), reset: true)
    }

    private func stamp() -> Int64 {
        if let readStamp { return readStamp }
        let now = MonotonicClock.now()
        readStamp = now
        return now
    }

    private func end(_ streamID: HTTP2StreamID, error: TokenwireError?, reset: Bool) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        streams[call.id] = nil
        call.deadline?.cancel()
        if reset { handler.resetStream(streamID, errorCode: .cancel) }
        call.continuation.resume(returning: .init(request: call.request, tally: call.tally, error: error))
    }

    // MARK: HTTP2ConnectionDelegate

    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
        _ = stamp()
        guard calls[streamID] != nil else { return }
        if let carried = GRPCStatusMessage.status(grpcStatus: headers.first(named: "grpc-status"), grpcMessage: headers.first(named: "grpc-message")) {
            calls[streamID]!.status = carried
        }
        guard endStream else { return }
        let status = calls[streamID]!.status ?? GRPCStatus(code: .internal, message: "the server ended the call without a grpc-status")
        end(streamID, error: status.code == .ok ? nil : TokenwireError(code: status.code, message: status.message), reset: false)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {
        let now = stamp()
        connection.consume(streamID: streamID, bytes: data.readableBytes)
        guard var call = calls.removeValue(forKey: streamID) else { return }
        call.deframer.append(data)
        do {
            while let message = try call.deframer.next() {
                let frame = try TokenFrame(decoding: message)
                switch frame.event {
                case .text(let text): call.request.receiveText(text, at: now, into: &call.tally)
                case .finish(let finish): call.request.finish = finish
                default: break
                }
            }
        } catch {
            calls[streamID] = call
            end(streamID, error: TokenwireError(code: .internal, message: "the server sent a bad message: \(error.message)"), reset: true)
            return
        }
        calls[streamID] = call
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {
        end(streamID, error: TokenwireError(code: .internal, message: "the server ended the call without trailers"), reset: false)
    }

    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        end(streamID, error: TokenwireError(code: .internal, message: "the stream closed without a status (\(errorCode))"), reset: false)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        closedReason = "the server at \(target) is shutting down (GOAWAY \(errorCode))"
        for streamID in Array(calls.keys) where streamID > lastStreamID {
            end(streamID, error: TokenwireError(code: .unavailable, message: "the server at \(target) did not process this call (GOAWAY)"), reset: false)
        }
    }

    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {
        let reason = "the connection to \(target) was lost" + (error.map { ": \($0)" } ?? "")
        closedReason = closedReason ?? reason
        for streamID in Array(calls.keys) {
            end(streamID, error: TokenwireError(code: .unavailable, message: reason), reset: false)
        }
    }

    func connectionReadComplete(_ connection: HTTP2ConnectionHandler) {
        readStamp = nil
    }
}
