import NIOCore
import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// The client side of one call: request out, response messages into a `GRPCMessageStream`,
/// status from the trailers.
///
/// - Important: Event-loop only, except `Delegate`, which hops onto the loop.
final class GRPCClientStream {
    /// Called by the sequence when the consumer wants more, or went away.
    struct Delegate: NIOAsyncSequenceProducerDelegate {
        /// Filled on the loop when the call starts (after a connection is ready).
        let slot: NIOLoopBoundBox<Slot>

        func produceMore() {
            slot.eventLoop.execute { slot.value.stream?.resumeReading() }
        }

        func didTerminate() {
            slot.eventLoop.execute {
                slot.value.consumerGone = true
                slot.value.stream?.consumerWentAway()
            }
        }
    }

    /// A call's stream once started, and whether its consumer left before that (then it
    /// is not started at all).
    struct Slot {
        var stream: GRPCClientStream?
        var consumerGone = false
    }

    typealias Source = GRPCMessageStream.Producer.Source

    let path: String
    unowned let connection: HTTP2ConnectionHandler
    private let onEnd: (GRPCClientStream) -> Void
    var streamID: HTTP2StreamID = 0
    var source: Source?
    private var deframer: GRPCMessageDeframer
    private var isReading = true
    private var unconsumedBytes = 0
    private var sawResponseHeaders = false
    private var status: GRPCStatus?
    private var deadlineTimer: Scheduled<Void>?
    private var ended = false
    /// Where the caller reads the response's headers and trailers.
    private let responseMetadata: ResponseMetadata

    init(
        path: String, connection: HTTP2ConnectionHandler, maxMessageSize: Int, responseMetadata: ResponseMetadata = ResponseMetadata(),
        onEnd: @escaping (GRPCClientStream) -> Void
    ) {
        self.responseMetadata = responseMetadata
        self.path = path
        self.connection = connection
        self.deframer = GRPCMessageDeframer(maxMessageSize: maxMessageSize)
        self.onEnd = onEnd
    }

    func startDeadline(_ timeout: Duration) {
        let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        deadlineTimer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.end(with: GRPCStatus(code: .deadlineExceeded, message: "the call's deadline of \(timeout) expired"), reset: true)
        }
    }

    // MARK: From the connection

    func receivedHeaders(_ headers: [HTTP2Header], endStream: Bool) {
        let fields = headers.filter { !$0.name.hasPrefix(":") }.map { (name: $0.name, value: $0.value) }
        if !sawResponseHeaders { responseMetadata.received(headers: fields) }
        if endStream { responseMetadata.received(trailers: fields) }
        if !sawResponseHeaders {
            sawResponseHeaders = true
            if let problem = Self.checkResponseHeaders(headers) {
                end(with: problem, reset: !endStream)
                return
            }
        }
        if let carried = GRPCStatusMessage.status(grpcStatus: headers.first(named: "grpc-status"), grpcMessage: headers.first(named: "grpc-message")) {
            status = carried
        }
        if endStream {
            end(with: status ?? GRPCStatus(code: .internal, message: "the server ended the call without a grpc-status"), reset: false)
        }
    }

    func receivedData(_ data: ByteBuffer) {
        guard !ended else {
            // Nobody will read it, but the connection's window must have it back.
            connection.consume(streamID: streamID, bytes: data.readableBytes)
            return
        }
        if isReading { connection.consume(streamID: streamID, bytes: data.readableBytes) } else { unconsumedBytes += data.readableBytes }
        deframer.append(data)
        var messages: [ByteBuffer] = []
        do {
            while let message = try deframer.next() { messages.append(message) }
        } catch {
            deliver(messages)
            end(with: GRPCStatus(code: .internal, message: "the server sent a bad message: \(error.message)"), reset: true)
            return
        }
        deliver(messages)
    }

    /// The stream closed at the HTTP/2 level.
    func closed(errorCode: HTTP2ErrorCode) {
        if let status {
            end(with: status, reset: false)
        } else if errorCode == .refusedStream {
            end(with: GRPCStatus(code: .unavailable, message: "the server refused the stream (REFUSED_STREAM): retry"), reset: false)
        } else if errorCode == .cancel {
            end(with: GRPCStatus(code: .cancelled, message: "the server cancelled the stream"), reset: false)
        } else {
            end(with: GRPCStatus(code: .internal, message: "the stream closed without a status (\(errorCode))"), reset: false)
        }
    }

    func connectionLost(_ message: String, transport: TokenwireError.TransportFailure = .connectionLost) {
        end(with: GRPCStatus(code: .unavailable, message: message), reset: false, transport: transport)
    }

    // MARK: From the consumer

    private func resumeReading() {
        isReading = true
        if unconsumedBytes > 0 {
            connection.consume(streamID: streamID, bytes: unconsumedBytes)
        }
        unconsumedBytes = 0
    }

    private func consumerWentAway() {
        end(with: GRPCStatus(code: .cancelled, message: "the caller stopped reading"), reset: true)
    }

    // MARK: Ending

    private func deliver(_ messages: [ByteBuffer]) {
        guard !messages.isEmpty, let source else { return }
        switch source.yield(contentsOf: messages) {
        case .produceMore: break
        case .stopProducing: isReading = false
        case .dropped: break
        }
    }

    /// Ends the call once: the sequence finishes (OK) or throws the status.
    func end(with status: GRPCStatus, reset: Bool, transport: TokenwireError.TransportFailure? = nil) {
        guard !ended else { return }
        ended = true
        // Bytes held back from a reader that was behind: the stream takes no more, but the
        // connection's window is shared by every stream and must have them back (nghttp2
        // credits the connection even for a closed stream). Kept, they would close the
        // connection's window for good after enough such calls.
        if unconsumedBytes > 0 {
            connection.consume(streamID: streamID, bytes: unconsumedBytes)
            unconsumedBytes = 0
        }
        deadlineTimer?.cancel()
        if reset, streamID != 0 { connection.resetStream(streamID, errorCode: .cancel) }
        if status.code == .ok {
            source?.finish()
        } else {
            source?.finish(TokenwireError(code: status.code, message: status.message, transport: transport))
        }
        source = nil
        onEnd(self)
    }

    /// gRPC over HTTP/2: a non-200 `:status` or a foreign content-type means we did not
    /// reach a gRPC server (`doc/http-grpc-status-mapping.md`).
    static func checkResponseHeaders(_ headers: [HTTP2Header]) -> GRPCStatus? {
        let httpStatus = headers.first(named: ":status") ?? ""
        if httpStatus != "200", headers.first(named: "grpc-status") == nil {
            let code: GRPCStatus.Code = switch httpStatus {
            case "400": .internal
            case "401": .unauthenticated
            case "403": .permissionDenied
            case "404": .unimplemented
            case "429", "502", "503", "504": .unavailable
            default: .unknown
            }
            return GRPCStatus(code: code, message: "the server answered HTTP \(httpStatus) instead of gRPC")
        }
        let contentType = headers.first(named: "content-type") ?? ""
        if httpStatus == "200", !contentType.hasPrefix("application/grpc") {
            return GRPCStatus(code: .unknown, message: "the server answered with content-type '\(contentType)', not application/grpc")
        }
        return nil
    }
}
