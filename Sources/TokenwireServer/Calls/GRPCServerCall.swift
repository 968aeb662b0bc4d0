import Logging
import NIOCore
import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// One gRPC call on one HTTP/2 stream, from its request headers to its trailers.
///
/// The event loop validates the headers, reassembles the single request message, and
/// then starts the method's handler as a task; the handler's writes go straight to the
/// stream's outbound queue. A reset, a lost connection or the deadline cancels the task.
///
/// - Important: Event-loop only, except for the task it starts.
final class GRPCServerCall {
    enum Phase {
        /// Reading the request message.
        case receiving(GRPCMethod, GRPCMessageDeframer, messages: [ByteBuffer])
        /// The handler runs.
        case running(Task<Void, Never>, GRPCResponseWriter)
        /// Answered or gone; further input is ignored.
        case done
    }

    let streamID: HTTP2StreamID
    let path: String
    let context: CallContext
    let ledger: CallLedger
    let logger: Logger
    let scheduling: CallScheduling
    unowned let connection: HTTP2ConnectionHandler
    private(set) var phase: Phase
    private var deadlineTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    /// Where the bytes of the request still arriving are counted.
    private let requestBytes: RequestBufferAccount
    /// Bytes of this call's request held until the request is whole.
    private var heldRequestBytes = 0

    init(
        streamID: HTTP2StreamID, method: GRPCMethod, context: CallContext, maxMessageSize: Int,
        connection: HTTP2ConnectionHandler, scheduling: CallScheduling, ledger: CallLedger,
        requestBytes: RequestBufferAccount, logger: Logger
    ) {
        self.requestBytes = requestBytes
        self.scheduling = scheduling
        self.streamID = streamID
        self.path = method.path
        self.context = context
        self.connection = connection
        self.ledger = ledger
        self.logger = logger
        self.phase = .receiving(method, GRPCMessageDeframer(maxMessageSize: maxMessageSize), messages: [])
    }

    /// Arms the deadline from `grpc-timeout`.
    func startDeadline(after timeout: Duration) {
        let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        deadlineTimer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.deadlineExpired(timeout)
        }
    }

    /// Arms the request timeout: the request message must arrive whole within `timeout`.
    func startRequestTimer(_ timeout: Duration) {
        let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        requestTimer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.requestTimedOut(timeout)
        }
    }

    func received(_ data: ByteBuffer) {
        guard case .receiving(let method, var deframer, var messages) = phase else { return }
        if let refusal = requestBytes.reserve(data.readableBytes) {
            fail(refusal.status)
            return
        }
        heldRequestBytes += data.readableBytes
        phase = .done  // avoid a copy-on-write of the deframer while we mutate it
        deframer.append(data)
        do {
            while let message = try deframer.next() {
                messages.append(message)
                if messages.count > 1 {
                    throw TokenwireError.unimplemented(
                        "\(path) takes exactly one request message, but the client sent more than one")
                }
            }
        } catch let error as TokenwireError {
            fail(error.status)
            return
        } catch {
            fail(GRPCStatus(code: .internal, message: "\(error)"))
            return
        }
        phase = .receiving(method, deframer, messages: messages)
    }

    func receivedEnd() {
        guard case .receiving(let method, let deframer, let messages) = phase else { return }
        if deframer.isInsideMessage {
            fail(GRPCStatus(
                code: .internal,
                message: "the request ended inside a message: \(deframer.bufferedBytes) bytes of an incomplete length-prefixed message arrived"))
        } else if messages.count != 1 {
            fail(GRPCStatus(code: .unimplemented, message: "\(path) takes exactly one request message, but the client sent none"))
        } else {
            start(method, request: messages[0])
        }
    }

    /// The request is whole, or will never be: its bytes no longer count against the limits.
    private func requestEnded() {
        requestTimer?.cancel()
        requestTimer = nil
        requestBytes.release(heldRequestBytes)
        heldRequestBytes = 0
    }

    private func requestTimedOut(_ timeout: Duration) {
        guard case .receiving(_, let deframer, _) = phase else { return }
        fail(GRPCStatus(
            code: .deadlineExceeded,
            message: "the request did not arrive whole within \(timeout) (the server's --request-timeout); "
                + "\(heldRequestBytes) bytes arrived, \(deframer.bufferedBytes) of them in an unfinished message"))
    }

    /// Answers with `status` at once (trailers-only) and ends the call.
    func fail(_ status: GRPCStatus) {
        phase = .done
        requestEnded()
        deadlineTimer?.cancel()
        connection.respondHeadersOnly(streamID: streamID, headers: GRPCStatusTrailers.trailersOnly(status))
        logger.debug("call failed before it started", metadata: ["path": "\(path)", "status": "\(status)"])
    }

    private func start(_ method: GRPCMethod, request: ByteBuffer) {
        requestEnded()
        let outbound = connection.makeOutboundStream(headers: GRPCStatusTrailers.responseHeaders)
        connection.startResponse(streamID: streamID, outbound: outbound)
        let writer = GRPCResponseWriter(outbound: outbound, gate: scheduling.gate)
        let (ledger, context, path, logger) = (self.ledger, self.context, self.path, self.logger)
        ledger.callStarted()
        let task = Task(executorPreference: scheduling.executor) {
            let status: GRPCStatus
            do {
                try await method.handler(request, context, writer)
                status = .ok
            } catch let error as TokenwireError {
                status = error.status
            } catch is CancellationError {
                status = GRPCStatus(code: .cancelled, message: "the call was cancelled")
            } catch {
                status = GRPCStatus(code: .unknown, message: "the handler of \(path) failed: \(error)")
            }
            let clientGone = !outbound.isOpen
            writer.finish(status)
            ledger.callEnded(.init(path: path, status: status, clientCancelled: clientGone))
            logger.debug("call ended", metadata: ["path": "\(path)", "status": "\(status)"])
        }
        phase = .running(task, writer)
    }

    private func deadlineExpired(_ timeout: Duration) {
        let status = GRPCStatus(code: .deadlineExceeded, message: "the call's deadline of \(timeout) (grpc-timeout) expired")
        switch phase {
        case .receiving:
            fail(status)
        case .running(let task, let writer):
            // Trailers first, so the client learns why; cancelling stops the producer.
            writer.finish(status)
            task.cancel()
            phase = .done
        case .done:
            break
        }
    }

    /// The stream is gone (finished, reset, or the connection closed).
    func closed() {
        requestEnded()
        deadlineTimer?.cancel()
        if case .running(let task, _) = phase { task.cancel() }
        phase = .done
    }
}
