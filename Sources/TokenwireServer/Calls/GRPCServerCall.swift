import Logging
import NIOCore
import TokenwireCore
import TokenwireHTTP2
import TokenwireProviders
import TokenwireWire

/// One gRPC call on one HTTP/2 stream, from its request headers to its trailers.
///
/// The event loop validates the headers, reassembles the single request message, and
/// then starts the method's handler as a task; the handler's writes go straight to the
/// stream's outbound queue. A reset, a lost connection or the deadline cancels the task.
/// What happens on each event is decided by `GRPCServerCallState`; this class runs it.
///
/// - Important: Event-loop only, except for the task it starts.
final class GRPCServerCall {
    /// A started handler: its task and the writer its trailers go through.
    struct Running {
        let task: Task<Void, Never>
        let writer: GRPCResponseWriter
        /// Where a method that takes a stream of requests gets them.
        var requests: GRPCRequestStream.Source?
        /// Whether a lost connection or a cancel ends the task (a resumable stream's may go on).
        var attachment: CallAttachment { writer.attachment }
    }

    let streamID: HTTP2StreamID
    let context: CallContext
    let ledger: CallLedger
    let logger: Logger
    let scheduling: CallScheduling
    unowned let connection: HTTP2ConnectionHandler
    private var state: GRPCServerCallState<Running>
    private var deadlineTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    /// Where the bytes of the request still arriving are counted.
    private let requestBytes: RequestBufferAccount
    /// The client's address, for the call's log line.
    let peer: String
    let metrics: ServerMetrics?
    /// When the request's headers arrived: the call's duration and TTFT count from here.
    let arrivedAt = NIODeadline.now()
    /// The call's tenant and where its running calls are counted (`--auth-tokens`).
    let tenant: (AuthTokens.Tenant, TenantCallLimits)?

    var path: String { state.path }

    init(
        streamID: HTTP2StreamID, method: GRPCMethod, context: CallContext, maxMessageSize: Int,
        connection: HTTP2ConnectionHandler, scheduling: CallScheduling, ledger: CallLedger,
        requestBytes: RequestBufferAccount, peer: String = "", gzip: Bool = false, tenant: (AuthTokens.Tenant, TenantCallLimits)? = nil,
        metrics: ServerMetrics? = nil, logger: Logger
    ) {
        self.tenant = tenant
        self.metrics = metrics
        self.requestBytes = requestBytes
        self.peer = peer
        self.scheduling = scheduling
        self.streamID = streamID
        self.context = context
        self.connection = connection
        self.ledger = ledger
        self.logger = logger
        self.state = GRPCServerCallState(method: method, maxMessageSize: maxMessageSize, gzip: gzip)
    }

    /// Arms the deadline from `grpc-timeout`.
    func startDeadline(after timeout: Duration) {
        let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        deadlineTimer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let call = loopBound.value
            call.run(call.state.deadlineExpired(timeout))
        }
    }

    /// Arms the request timeout: the request message must arrive whole within `timeout`.
    func startRequestTimer(_ timeout: Duration) {
        let loopBound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        requestTimer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let call = loopBound.value
            call.run(call.state.requestTimedOut(timeout))
        }
    }

    /// Whether the request message is still arriving.
    var isReceivingRequest: Bool { state.isReceiving }

    func received(_ data: ByteBuffer) {
        if state.isStreamingRequests {
            run(state.received(data, refusal: nil))
            return
        }
        guard state.isReceiving else { return }
        let refusal = requestBytes.reserve(data.readableBytes)
        run(state.received(data, refusal: refusal?.status))
    }

    /// The request headers were accepted (a method that takes a stream of requests starts).
    func headersReceived() {
        run(state.headersReceived())
    }

    func receivedEnd() {
        run(state.receivedEnd())
    }

    /// The stream is gone (finished or reset).
    func closed() {
        run(state.closed())
    }

    /// The connection closed under the call (lost, keepalive timeout, shutdown).
    func connectionLost() {
        run(state.closed(connectionLost: true))
    }

    private func run(_ action: GRPCServerCallState<Running>.Action) {
        switch action {
        case .none:
            break
        case .fail(let status, let releasing):
            requestEnded(releasing: releasing)
            deadlineTimer?.cancel()
            connection.respondHeadersOnly(streamID: streamID, headers: GRPCStatusTrailers.trailersOnly(status))
            logger.debug("call failed before it started", metadata: ["path": "\(path)", "status": "\(status)"])
        case .start(let method, let request, let releasing):
            requestEnded(releasing: releasing)
            guard admitTenant(), case .singleRequest(let handler) = method.kind else { return }
            state.started(start { context, writer in try await handler(request, context, writer) })
        case .startStreaming(let method):
            requestEnded(releasing: 0)
            guard admitTenant(), case .requestStream(let handler) = method.kind else { return }
            let (requests, source) = GRPCRequestStream.make(limit: state.maxMessageSize)
            var running = start { context, writer in try await handler(requests, context, writer) }
            running.requests = source
            state.startedStreaming(running)
        case .deliver(let running, let messages):
            if running.requests?.yield(messages) == false {
                run(state.requestsOverflowed(limit: state.maxMessageSize))
            }
        case .endRequests(let running):
            running.requests?.finish()
        case .finishAndCancel(let running, let status):
            // Trailers first, so the client learns why; cancelling stops the producer.
            running.writer.finish(status)
            running.requests?.finish()
            _ = running.attachment.cancelled()
            running.task.cancel()
        case .cancel(let running):
            deadlineTimer?.cancel()
            running.requests?.finish()
            if running.attachment.cancelled() { running.task.cancel() }
        case .detach(let running):
            running.requests?.finish()
            // A resumable stream's producer goes on without its client for the detach grace.
            if !running.attachment.connectionLost() { running.task.cancel() }
        case .release(let releasing):
            requestEnded(releasing: releasing)
            deadlineTimer?.cancel()
        }
    }

    /// The request is whole, or will never be: its bytes no longer count against the limits.
    private func requestEnded(releasing bytes: Int) {
        requestTimer?.cancel()
        requestTimer = nil
        requestBytes.release(bytes)
    }

    /// Takes a slot of the call's tenant (`--auth-tokens`), or answers RESOURCE_EXHAUSTED.
    /// - Returns: whether the call may start.
    private func admitTenant() -> Bool {
        guard let (tenant, limits) = tenant else { return true }
        do {
            try limits.take(tenant)
            return true
        } catch {
            // The call never starts: it is answered as if it failed before starting.
            deadlineTimer?.cancel()
            metrics?.tenantRefused(tenant: tenant.name)
            connection.respondHeadersOnly(streamID: streamID, headers: GRPCStatusTrailers.trailersOnly(error.status))
            return false
        }
    }

    /// Starts the handler's task; `invoke` runs the method's handler with its request(s).
    private func start(_ invoke: @escaping @Sendable (CallContext, GRPCResponseWriter) async throws -> Void) -> Running {
        let outbound = connection.makeOutboundStream(headers: GRPCStatusTrailers.responseHeaders)
        connection.startResponse(streamID: streamID, outbound: outbound)
        let writer = GRPCResponseWriter(outbound: outbound, gate: scheduling.gate, eventLoop: connection.eventLoop)
        let (ledger, context, path, logger) = (self.ledger, self.context, self.path, self.logger)
        let peer = self.peer
        let arrivedAt = self.arrivedAt
        let metrics = self.metrics
        let tenant = self.tenant
        ledger.callStarted()
        metrics?.callStarted(method: path)
        let task = Task(executorPreference: scheduling.executor) {
            var status: GRPCStatus
            do {
                try await invoke(context, writer)
                status = .ok
            } catch let error as TokenwireError {
                status = error.status
            } catch is CancellationError {
                status = GRPCStatus(code: .cancelled, message: "the call was cancelled")
            } catch {
                status = GRPCStatus(code: .unknown, message: "the handler of \(path) failed: \(error)")
            }
            let clientGone = !outbound.isOpen
            status = writer.attachment.ended(status)
            // The tenant's slot is free before the trailers go: its next call may start.
            if let (tenant, limits) = tenant { limits.release(tenant.name) }
            // Counted before the trailers go: a client that has its status finds the call
            // in the metrics.
            if let metrics {
                let totals = outbound.totals
                metrics.callEnded(
                    method: path, status: status, arrivedAt: arrivedAt, report: context.report.snapshot, frames: totals.messages,
                    bytes: totals.bytes, tenant: context.tenant)
            }
            writer.finish(status)
            ledger.callEnded(.init(path: path, status: status, clientCancelled: clientGone))
            GRPCServerCall.logEnd(of: context, status: status, arrivedAt: arrivedAt, peer: peer, logger: logger)
        }
        writer.attachment.started(task)
        return Running(task: task, writer: writer)
    }

    /// Logs the call's line at info (nothing is computed below that level).
    static func logEnd(of context: CallContext, status: GRPCStatus, arrivedAt: NIODeadline, peer: String, logger: Logger) {
        guard logger.logLevel <= .info else { return }
        let metadata = logMetadata(
            path: context.path, status: status, report: context.report.snapshot, arrivedAt: arrivedAt, peer: peer,
            tenant: context.tenant, trace: TraceContext(metadata: context.metadata))
        logger.info("call", metadata: metadata)
    }

    /// The one log line of a finished call: what was asked and what served it, how it
    /// ended, how long it took and its first token took, the tokens, who asked, the trace.
    static func logMetadata(
        path: String, status: GRPCStatus, report: CallReport.Fields, arrivedAt: NIODeadline, peer: String, tenant: String? = nil,
        trace: TraceContext?
    ) -> Logger.Metadata {
        func milliseconds(_ since: NIODeadline) -> Logger.MetadataValue {
            // Whole microseconds, as milliseconds: prints as 1.708, a number in JSON.
            .stringConvertible(Double(max(0, (since - arrivedAt).nanoseconds / 1000)) / 1000)
        }
        var metadata: Logger.Metadata = [
            "method": .string(path),
            "status": .string("\(status.code)"),
            "duration_ms": milliseconds(.now()),
        ]
        if status.code != .ok { metadata["status_message"] = .string(status.message) }
        if let first = report.firstContentAt { metadata["ttft_ms"] = milliseconds(first) }
        if !report.requestedModel.isEmpty { metadata["model"] = .string(report.requestedModel) }
        if !report.servedModel.isEmpty { metadata["served_model"] = .string(report.servedModel) }
        if !report.provider.isEmpty { metadata["provider"] = .string(report.provider) }
        if let tokens = report.inputTokens { metadata["tokens_in"] = .stringConvertible(tokens) }
        if let tokens = report.outputTokens { metadata["tokens_out"] = .stringConvertible(tokens) }
        if let items = report.items { metadata["items"] = .stringConvertible(items) }
        if !peer.isEmpty { metadata["peer"] = .string(peer) }
        if let tenant { metadata["tenant"] = .string(tenant) }
        if let trace {
            metadata["traceparent"] = .string(trace.traceparent)
            if let state = trace.tracestate { metadata["tracestate"] = .string(state) }
        }
        return metadata
    }
}
