import Logging
import TokenwireProviders
import NIOCore
import TokenwireCore
import TokenwireWire

/// `tokenwire.v1.TokenStream`: Generate, Complete and GenerateBatch over the providers.
struct TokenStreamService: Sendable {
    static let serviceName = "tokenwire.v1.TokenStream"

    let providers: ProviderRegistry
    /// Slots for provider calls, shared by the whole server.
    var admission = AdmissionControl(limit: CallLimits().maxActiveCalls)
    /// Batch concurrency defaults and caps.
    var limits = CallLimits()
    /// Resumable streams; nil when the server turned them off.
    var resume: ResumeRegistry?
    /// The server's metrics; nil when it keeps none.
    var metrics: ServerMetrics?

    /// The request metadata that opts a Generate call out of being resumable.
    static let resumeOptOut = (name: "tokenwire-resume", value: "off")

    var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Generate") { request, context, writer in
                let request = try GenerateRequest(decoding: request)
                if !request.resumeToken.isEmpty {
                    context.report.update { $0.requestedModel = "(resume)" }
                    do {
                        try await resume(request, writer: writer)
                        metrics?.resumed(outcome: "OK")
                    } catch let error as TokenwireError {
                        metrics?.resumed(outcome: "\(error.code)")
                        throw error
                    }
                    return
                }
                try await withCallScope(context) {
                    try await admitted { try await generate(request, context: context, writer: writer) }
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/Complete") { request, context, writer in
                let request = try GenerateRequest(decoding: request)
                try await withCallScope(context) {
                    try await admitted { try await complete(request, context: context, writer: writer) }
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/GenerateBatch") { request, context, writer in
                let request = try BatchRequest(decoding: request)
                context.report.update { $0.items = request.items.count }
                try await withCallScope(context) {
                    try await generateBatch(request, writer: writer)
                }
            },
        ]
    }

    /// Runs `body` with the call's deadline, trace context and metrics where providers find
    /// them (`CallDeadline.current`, `TraceContext.current`, `ProviderEvents.observer`).
    func withCallScope(_ context: CallContext, _ body: () async throws -> Void) async throws {
        try await CallDeadline.$current.withValue(context.deadline) {
            try await TraceContext.$current.withValue(TraceContext(metadata: context.metadata)) {
                if let metrics {
                    try await ProviderEvents.$observer.withValue(metrics) { try await body() }
                } else {
                    try await body()
                }
            }
        }
    }

    /// Runs `body` in one of the server's provider slots; a refusal is counted.
    func admitted(_ body: () async throws -> Void) async throws {
        do {
            try await admission.withSlot(body)
        } catch let error as TokenwireError where error.code == .resourceExhausted {
            metrics?.admissionRefused()
            throw error
        }
    }

    func generate(_ request: GenerateRequest, context: CallContext, writer: GRPCResponseWriter) async throws {
        context.report.update { $0.requestedModel = request.model }
        let routes = try providers.routes(for: request.model)
        let start = StreamStart(streamID: Self.makeStreamID(), model: routes[0].model, provider: routes[0].provider.name)
        let optedOut = context.metadata.contains { $0.name == Self.resumeOptOut.name && $0.value == Self.resumeOptOut.value }
        let sink: StreamingTokenSink
        if !optedOut, let stream = resume?.makeStream(start: start, firstReader: writer, eventLoop: writer.eventLoop) {
            writer.attachment.produces(stream)
            sink = StreamingTokenSink(stream: stream, writer: writer)
        } else {
            sink = StreamingTokenSink(writer: writer, start: start)
        }
        defer { context.report.update { sink.report(into: &$0) } }
        try await Self.run(
            request, routes: routes, into: sink, filters: providers.filters(requested: request.model, routes: routes),
            stages: providers.stages(requested: request.model, routes: routes), hedge: providers.hedge(for: request.model),
            metrics: metrics, maxJSONBytes: limits.maxJSONBytes)
    }

    /// A Generate with a resume token: the stream's frames after `resume_after_seq` as
    /// first sent, then the live ones, then its status. The request's other fields are
    /// ignored; no provider slot is taken (the stream's producer holds one).
    func resume(_ request: GenerateRequest, writer: GRPCResponseWriter) async throws {
        guard let registry = resume else {
            throw TokenwireError(
                code: .failedPrecondition,
                message: "this server keeps no streams to resume (it runs with --resume-buffer 0); send the request without resume_token")
        }
        guard let stream = registry.stream(for: request.resumeToken) else {
            if let follower = registry.follower,
                let status = try await follower.follow(token: request.resumeToken, after: request.resumeAfterSeq, writer: writer)
            {
                if status.code != .ok { throw TokenwireError(code: status.code, message: status.message) }
                return
            }
            throw TokenwireError(
                code: .notFound,
                message: "no stream with resume token \(ErrorExcerpt.quoted(request.resumeToken, limit: 64)) is held here: the token is unknown, or its stream ended more than "
                    + "\(registry.configuration.retention) ago (--resume-retention)")
        }
        let status: GRPCStatus
        switch stream.attach(writer, after: request.resumeAfterSeq) {
        case .refused(let refusal):
            // Frames this replica no longer holds may still be in the resume store.
            if refusal.code == .outOfRange, let follower = registry.follower,
                let stored = try await follower.follow(token: request.resumeToken, after: request.resumeAfterSeq, writer: writer)
            {
                status = stored
            } else {
                status = refusal
            }
        case .ended(let ended):
            status = ended
        case .attached(let readerID):
            writer.attachment.reads(stream, readerID: readerID)
            status = await stream.waitForEnd(readerID: readerID)
        }
        if status.code != .ok { throw TokenwireError(code: status.code, message: status.message) }
    }

    func complete(_ request: GenerateRequest, context: CallContext, writer: GRPCResponseWriter) async throws {
        context.report.update { $0.requestedModel = request.model }
        let routes = try providers.routes(for: request.model)
        let collector = CompletionCollector(model: routes[0].model)
        try await Self.run(
            request, routes: routes, into: collector, filters: providers.filters(requested: request.model, routes: routes),
            stages: providers.stages(requested: request.model, routes: routes), hedge: providers.hedge(for: request.model),
            metrics: metrics, maxJSONBytes: limits.maxJSONBytes)
        let completion = collector.result()
        context.report.update { fields in
            fields.servedModel = completion.model
            fields.inputTokens = completion.finish?.usage?.inputTokens
            fields.outputTokens = completion.finish?.usage?.outputTokens
        }
        try await writer.write(completion)
    }

    /// Runs the request through its stages on its routes: the output filters (if any),
    /// then, when the request asks for JSON, the structured-output stage
    /// (`JSONOutputStage`). A deny filter's match ends the call with
    /// `Finish { reason: "content_filter" }` and status OK; on any other end, the text the
    /// stages still hold goes out first (nothing produced is lost).
    static func run(
        _ request: GenerateRequest, routes: [ProviderRegistry.Route], into sink: some TokenSink,
        filters: [OutputFilters.Filter] = [], stages: [any OutputStage] = [], hedge: Hedge? = nil, metrics: ServerMetrics? = nil,
        maxJSONBytes: Int = CallLimits().maxJSONBytes
    ) async throws {
        guard let format = request.responseFormat, format.kind != .text else {
            try StructuredOutput.check(request.responseFormat)
            return try await runFiltered(request, routes: routes, into: sink, filters: filters, stages: stages, hedge: hedge, metrics: metrics)
        }
        try StructuredOutput.check(format)
        let json = JSONOutputStage(downstream: sink, format: format, maxBytes: maxJSONBytes)
        do {
            try await runFiltered(request, routes: routes, into: json, filters: filters, stages: stages, hedge: hedge, metrics: metrics)
            try await json.abandon()
        } catch {
            try? await json.abandon()
            throw error
        }
    }

    private static func runFiltered(
        _ request: GenerateRequest, routes: [ProviderRegistry.Route], into sink: some TokenSink,
        filters: [OutputFilters.Filter], stages: [any OutputStage], hedge: Hedge?, metrics: ServerMetrics?
    ) async throws {
        func produce(into sink: some TokenSink) async throws {
            if let hedge {
                try await runHedged(request, primary: routes, hedge: hedge, into: sink, metrics: metrics)
            } else {
                try await runRoutes(request, routes: routes, into: sink, metrics: metrics)
            }
        }
        guard !filters.isEmpty || !stages.isEmpty else { return try await produce(into: sink) }
        let stage = FilterStage(downstream: sink, filters: filters, stages: stages, model: request.model)
        do {
            try await produce(into: stage)
            try await stage.finish()
        } catch {
            if stage.deniedBy == nil { try? await stage.finish() }
            guard stage.deniedBy != nil else { throw error }
        }
        guard let filter = stage.deniedBy else { return }
        var metadata: Logger.Metadata = ["filter": "\(filter)", "model": "\(request.model)"]
        if let trace = TraceContext.current { metadata["traceparent"] = "\(trace.traceparent)" }
        Logger(label: "tokenwire.server").info("an output filter stopped the call", metadata: metadata)
        metrics?.filterDenied(filter: filter)
        try await sink.send(.finish(stage.deniedFinish))
    }

    /// Runs the request on its first route; while nothing but heartbeats has reached the
    /// sink, a failure that another provider might not share moves on to the next route.
    /// The call ends with the last route's code and every route's message, the primary's
    /// first.
    static func runRoutes(
        _ request: GenerateRequest, routes: [ProviderRegistry.Route], into sink: some TokenSink, metrics: ServerMetrics? = nil
    ) async throws {
        var failures: [String] = []
        for (position, route) in routes.enumerated() {
            var routed = request
            routed.model = route.model
            if position > 0 { sink.route(to: route.provider.name, model: route.model) }
            do {
                try await route.provider.generate(routed, into: sink)
                return
            } catch let error as TokenwireError {
                let isLast = position == routes.count - 1
                guard !isLast, !sink.hasDeliveredContent, Self.allowsFallback(error) else {
                    if failures.isEmpty { throw error }
                    // Every route's own message, the primary's first; the last route's code.
                    failures.append("then \(route.model) failed: \(error.code): \(error.message)")
                    throw TokenwireError(code: error.code, message: failures.joined(separator: "; "))
                }
                failures.append(
                    failures.isEmpty
                        ? "\(route.model) failed: \(error.code): \(error.message)" : "then \(route.model) failed: \(error.code): \(error.message)")
                var metadata: Logger.Metadata = [
                    "model": "\(route.model)", "fallback": "\(routes[position + 1].model)", "error": "\(error)",
                ]
                if let trace = TraceContext.current { metadata["traceparent"] = "\(trace.traceparent)" }
                Logger(label: "tokenwire.server").warning("falling back to the next model", metadata: metadata)
                metrics?.fallback(from: route.model, to: routes[position + 1].model)
            }
        }
    }

    /// Whether a failure before the first token is worth trying on a fallback model: yes
    /// for the provider's own trouble (unavailable, rate limited, misconfigured, model
    /// missing, timed out upstream, garbled); no when the request itself is at fault, or
    /// the call is over.
    static func allowsFallback(_ error: TokenwireError) -> Bool {
        switch error.code {
        case .invalidArgument, .cancelled, .outOfRange, .failedPrecondition: false
        case .deadlineExceeded:
            if let deadline = CallDeadline.current { ContinuousClock.now < deadline } else { true }
        default: !Task.isCancelled
        }
    }

    /// A random id naming one stream, 16 hex digits.
    static func makeStreamID() -> String {
        let value = SecureRandomWords.next()
        // Written straight into the string's storage: one allocation.
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for digit in 0..<16 { buffer[digit] = hexDigits[Int(value >> UInt64(60 - 4 * digit) & 0xf)] }
            return 16
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
