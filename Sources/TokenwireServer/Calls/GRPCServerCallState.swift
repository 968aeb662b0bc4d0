import NIOCore
import TokenwireCore
import TokenwireWire

/// One gRPC call's life as a value: reading its single request message, running its
/// handler, done. Each event returns what the call must do (answer at once, start the
/// handler, finish and cancel it); the state never calls out. `GRPCServerCall` runs the
/// actions on the connection's loop; tests drive the state as a value.
///
/// `Running` is what a started handler leaves behind (its task and writer in the server;
/// any value in tests).
struct GRPCServerCallState<Running> {
    enum Phase {
        /// Reading the request message.
        case receiving(GRPCMethod, GRPCMessageDeframer, messages: [ByteBuffer])
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
        /// The deadline passed while the handler ran: send `status` as the trailers, then
        /// cancel the handler.
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

    /// - Parameter gzip: the request's messages may be gzip-compressed (`grpc-encoding: gzip`).
    init(method: GRPCMethod, maxMessageSize: Int, gzip: Bool = false) {
        self.path = method.path
        self.maxMessageSize = maxMessageSize
        self.phase = .receiving(method, GRPCMessageDeframer(maxMessageSize: maxMessageSize, acceptsCompressed: gzip), messages: [])
    }

    /// Whether request bytes are still wanted (only then are they counted and passed in).
    var isReceiving: Bool {
        if case .receiving = phase { true } else { false }
    }

    /// Request bytes arrived.
    /// - Parameter refusal: why the buffer limits refused to hold them (nil: they are held).
    mutating func received(_ data: ByteBuffer, refusal: GRPCStatus?) -> Action {
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
        case .running(let running):
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
        case .running(let running): return connectionLost ? .detach(running) : .cancel(running)
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
