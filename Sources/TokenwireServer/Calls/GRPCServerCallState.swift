import NIOCore
import TokenwireCore
import TokenwireWire

/// One gRPC call's life as a value: reading its single request message (or, for a method
/// that takes a stream of requests, starting at once and passing each message on as it
/// arrives), running its handler, done. Each event returns what the call must do (answer at once, start the
/// handler, finish and cancel it); the state never calls out. `GRPCServerCall` runs the
/// actions on the connection's loop; tests drive the state as a value.
///
/// `Running` is what a started handler leaves behind (its task and writer in the server;
/// any value in tests).
struct GRPCServerCallState<Running> {
    enum Phase {
        /// Reading the request message.
        case receiving(GRPCMethod, GRPCMessageDeframer, messages: [ByteBuffer])
        /// The handler of a method that takes a stream of requests runs; more may arrive.
        case streaming(Running, GRPCMessageDeframer)
        /// The handler runs.
        case running(Running)
        /// Answered or gone; further input is ignored.
        case done
    }

    /// What the call must do after an event.
    enum Action {
        case none
        /// Answer `status` at once (trailers-only); the call is over. The request's
        /// `releasing` bytes no longer count against the buffer limits, its request timer
        /// and deadline stop.
        case fail(GRPCStatus, releasing: Int)
        /// The request is whole: start the handler with it, then report it with `started`.
        /// The request's `releasing` bytes no longer count; its request timer stops.
        case start(GRPCMethod, request: ByteBuffer, releasing: Int)
        /// The method takes a stream of requests: start its handler now, then report it
        /// with `startedStreaming`.
        case startStreaming(GRPCMethod)
        /// Request messages for the running handler of a request stream.
        case deliver(Running, [ByteBuffer])
        /// The client half-closed its request stream: the handler's requests end.
        case endRequests(Running)
        /// The deadline passed while the handler ran (or its request stream went wrong):
        /// send `status` as the trailers, then cancel the handler.
        case finishAndCancel(Running, GRPCStatus)
        /// The stream is gone (reset or finished): cancel the handler; the deadline stops.
        case cancel(Running)
        /// The connection was lost while the handler ran: the handler may go on without its
        /// client (a resumable stream) or is cancelled.
        case detach(Running)
        /// The stream is gone before the request was whole: `releasing` bytes no longer
        /// count, the timers stop.
        case release(Int)
    }

    /// The method's path, for messages.
    let path: String
    private(set) var phase: Phase
    /// Bytes of the request held until the request is whole.
    private(set) var heldRequestBytes = 0

    /// The largest request message, compressed or inflated.
    let maxMessageSize: Int
    /// Whether request messages may be gzip-compressed.
    let gzip: Bool

    /// - Parameter gzip: the request's messages may be gzip-compressed (`grpc-encoding: gzip`).
    init(method: GRPCMethod, maxMessageSize: Int, gzip: Bool = false) {
        self.path = method.path
        self.maxMessageSize = maxMessageSize
        self.gzip = gzip
        self.phase = .receiving(method, GRPCMessageDeframer(maxMessageSize: maxMessageSize, acceptsCompressed: gzip), messages: [])
    }

    /// Whether the bytes of a single request are still wanted (they are counted against
    /// the buffer limits until the request is whole).
    var isReceiving: Bool {
        if case .receiving = phase { true } else { false }
    }

    /// Whether a running handler takes the request bytes as they come (not counted: the
    /// handler's unread messages are bounded instead).
    var isStreamingRequests: Bool {
        if case .streaming = phase { true } else { false }
    }

    /// The request headers were accepted: a method that takes a stream of requests starts
    /// now.
    mutating func headersReceived() -> Action {
        guard case .receiving(let method, _, _) = phase, method.takesRequestStream else { return .none }
        phase = .done
        return .startStreaming(method)
    }

    /// The handler was started after `.startStreaming`.
    mutating func startedStreaming(_ running: Running) {
        phase = .streaming(running, GRPCMessageDeframer(maxMessageSize: maxMessageSize, acceptsCompressed: gzip))
    }

    /// The running handler has more unread request bytes than `limit`.
    mutating func requestsOverflowed(limit: Int) -> Action {
        guard case .streaming(let running, _) = phase else { return .none }
        phase = .done
        return .finishAndCancel(running, GRPCStatus(
            code: .resourceExhausted,
            message: "the client sent more than \(limit) bytes of requests that \(path) has not read yet; wait for its answers before sending more"))
    }

    /// Request bytes arrived.
    /// - Parameter refusal: why the buffer limits refused to hold them (nil: they are held).
    mutating func received(_ data: ByteBuffer, refusal: GRPCStatus?) -> Action {
        if case .streaming(let running, var deframer) = phase {
            phase = .done  // no copy-on-write of the deframer while it is mutated
            deframer.append(data)
            var messages: [ByteBuffer] = []
            do {
                while let message = try deframer.nextMessage() {
                    messages.append(
                        message.isCompressed ? try GRPCMessageInflater.gunzip(message.body, maxSize: maxMessageSize) : message.body)
                }
            } catch {
                return .finishAndCancel(running, error.status)
            }
            phase = .streaming(running, deframer)
            return messages.isEmpty ? .none : .deliver(running, messages)
        }
        guard case .receiving(let method, var deframer, var messages) = phase else { return .none }
        if let refusal { return fail(refusal) }
        heldRequestBytes += data.readableBytes
        phase = .done  // no copy-on-write of the deframer while it is mutated
        deframer.append(data)
        do {
            while let message = try deframer.nextMessage() {
                messages.append(
                    message.isCompressed ? try GRPCMessageInflater.gunzip(message.body, maxSize: maxMessageSize) : message.body)
                if messages.count > 1 {
                    return fail(GRPCStatus(
                        code: .unimplemented, message: "\(path) takes exactly one request message, but the client sent more than one"))
                }
            }
        } catch {
            return fail(error.status)
        }
        phase = .receiving(method, deframer, messages: messages)
        return .none
    }

    /// The request ended (END_STREAM).
    mutating func receivedEnd() -> Action {
        if case .streaming(let running, let deframer) = phase {
            if deframer.isInsideMessage {
                phase = .done
                return .finishAndCancel(running, GRPCStatus(
                    code: .internal,
                    message: "the request stream ended inside a message: \(deframer.bufferedBytes) bytes of an incomplete length-prefixed message arrived"))
            }
            phase = .running(running)
            return .endRequests(running)
        }
        guard case .receiving(let method, let deframer, let messages) = phase else { return .none }
        if deframer.isInsideMessage {
            return fail(GRPCStatus(
                code: .internal,
                message: "the request ended inside a message: \(deframer.bufferedBytes) bytes of an incomplete length-prefixed message arrived"))
        }
        guard messages.count == 1 else {
            return fail(GRPCStatus(code: .unimplemented, message: "\(path) takes exactly one request message, but the client sent none"))
        }
        phase = .done
        return .start(method, request: messages[0], releasing: takeHeldBytes())
    }

    /// The handler was started after `.start`.
    mutating func started(_ running: Running) {
        phase = .running(running)
    }

    /// The request did not arrive whole within `timeout` (the server's request timeout).
    mutating func requestTimedOut(_ timeout: Duration) -> Action {
        guard case .receiving(_, let deframer, _) = phase else { return .none }
        return fail(GRPCStatus(
            code: .deadlineExceeded,
            message: "the request did not arrive whole within \(timeout) (the server's --request-timeout); "
                + "\(heldRequestBytes) bytes arrived, \(deframer.bufferedBytes) of them in an unfinished message"))
    }

    /// The call's deadline (`grpc-timeout`) passed.
    mutating func deadlineExpired(_ timeout: Duration) -> Action {
        let status = GRPCStatus(code: .deadlineExceeded, message: "the call's deadline of \(timeout) (grpc-timeout) expired")
        switch phase {
        case .receiving:
            return fail(status)
        case .running(let running), .streaming(let running, _):
            phase = .done
            return .finishAndCancel(running, status)
        case .done:
            return .none
        }
    }

    /// The stream is gone: finished or reset, or (`connectionLost`) the connection closed
    /// under it.
    mutating func closed(connectionLost: Bool = false) -> Action {
        defer { phase = .done }
        switch phase {
        case .receiving: return .release(takeHeldBytes())
        case .running(let running), .streaming(let running, _): return connectionLost ? .detach(running) : .cancel(running)
        case .done: return .none
        }
    }

    private mutating func fail(_ status: GRPCStatus) -> Action {
        phase = .done
        return .fail(status, releasing: takeHeldBytes())
    }

    private mutating func takeHeldBytes() -> Int {
        defer { heldRequestBytes = 0 }
        return heldRequestBytes
    }
}
