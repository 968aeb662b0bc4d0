import NIOCore
import Synchronization
import Prometheus
import TokenwireCore
import TokenwireProviders

/// The server's Prometheus metrics (`--metrics-port`; docs/ARCHITECTURE.md, "Metrics"):
/// OpenTelemetry's GenAI server metrics and gRPC's A66 server metrics in Prometheus form,
/// and Tokenwire's own.
///
/// Everything is recorded once per call (or per connection, retry, resume), never per
/// token: a call's frames, bytes and tokens are counted when it ends.
///
/// - Important: Any thread. The registry keeps one metric per name and label set behind its
///   own lock; the counters and histograms are atomics or short locks.
final class ServerMetrics: Sendable, ProviderEventObserver {
    let registry: PrometheusCollectorRegistry

    /// OpenTelemetry GenAI `gen_ai.server.time_to_first_token` buckets (seconds).
    static let timeToFirstTokenBuckets: [Double] = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    /// `gen_ai.server.time_per_output_token` buckets (seconds).
    static let timePerOutputTokenBuckets: [Double] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5]
    /// `gen_ai.server.request.duration` buckets (seconds).
    static let requestDurationBuckets: [Double] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    /// `gen_ai.client.token.usage` buckets (tokens).
    static let tokenUsageBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
    /// gRPC A66 `grpc.server.call.duration` buckets (seconds).
    static let grpcDurationBuckets: [Double] = [
        0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013,
        0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5,
        10, 20, 50, 100,
    ]

    /// A metric's name as Prometheus wants it: `name` then its unit (`seconds`, `total`…).
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: unit, helpText: help)
    }

    private let activeCalls: Gauge
    private let openConnections: Gauge
    private let heartbeatsSent: Counter
    private let admissionRefusals: Counter

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        activeCalls = registry.makeGauge(descriptor: Self.name("tokenwire_active_calls", "", "Calls running now (all methods)."))
        openConnections = registry.makeGauge(descriptor: Self.name("tokenwire_connections_open", "", "Client connections open now."))
        heartbeatsSent = registry.makeCounter(descriptor: Self.name("tokenwire_heartbeats_sent", "total", "Heartbeat frames sent to clients."))
        admissionRefusals = registry.makeCounter(descriptor: Self.name("tokenwire_admission_refusals", "total", "Calls refused RESOURCE_EXHAUSTED by --max-active-calls."))
    }

    // MARK: Connections and calls

    /// The server holds `count` client connections now.
    func connectionsOpen(_ count: Int) { openConnections.set(to: Double(count)) }

    /// The metrics of one method, made once (the registry's lookup by name and labels
    /// builds strings and takes its lock: per call it cost a quarter of a short call).
    private final class MethodMetrics: Sendable {
        let started: Counter
        let frames: Counter
        let bytes: Counter

        init(method: String, registry: PrometheusCollectorRegistry) {
            let label = ("grpc_method", method)
            started = registry.makeCounter(
                descriptor: ServerMetrics.name("grpc_server_call_started", "total", "gRPC calls started (gRPC A66 grpc.server.call.started)."),
                labels: [label])
            frames = registry.makeCounter(
                descriptor: ServerMetrics.name("tokenwire_frames_sent", "total", "Response messages queued for clients."), labels: [label])
            bytes = registry.makeCounter(
                descriptor: ServerMetrics.name(
                    "tokenwire_bytes_sent", "total", "Response message bytes (with their 5-byte gRPC prefixes) queued for clients."),
                labels: [label])
        }
    }

    private struct DurationKey: Hashable {
        var method: String
        var code: GRPCStatus.Code
    }

    /// What one GenAI label set (provider, model asked, model served, error) records into.
    private final class GenAIMetrics: Sendable {
        let duration: ValueHistogram
        let timeToFirstToken: ValueHistogram
        let timePerOutputToken: ValueHistogram
        let inputTokens: ValueHistogram
        let outputTokens: ValueHistogram

        init(_ key: GenAIKey, registry: PrometheusCollectorRegistry) {
            var labels = [("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", key.provider), ("gen_ai_request_model", key.requestModel)]
            if !key.responseModel.isEmpty { labels.append(("gen_ai_response_model", key.responseModel)) }
            let errorLabels = key.error.map { labels + [("error_type", $0)] } ?? labels
            duration = registry.makeValueHistogram(
                descriptor: ServerMetrics.name(
                    "gen_ai_server_request_duration", "seconds", "Generative AI server request duration (OpenTelemetry gen_ai.server.request.duration)."),
                labels: errorLabels, buckets: ServerMetrics.requestDurationBuckets)
            timeToFirstToken = registry.makeValueHistogram(
                descriptor: ServerMetrics.name(
                    "gen_ai_server_time_to_first_token", "seconds",
                    "Time from the request's arrival to its first content frame (text, tool call or reasoning) queued for the client (OpenTelemetry gen_ai.server.time_to_first_token)."),
                labels: labels, buckets: ServerMetrics.timeToFirstTokenBuckets)
            timePerOutputToken = registry.makeValueHistogram(
                descriptor: ServerMetrics.name(
                    "gen_ai_server_time_per_output_token", "seconds", "Time per output token after the first (OpenTelemetry gen_ai.server.time_per_output_token)."),
                labels: labels, buckets: ServerMetrics.timePerOutputTokenBuckets)
            let usage = ServerMetrics.name("gen_ai_client_token_usage", "", "Tokens used per call, input and output (OpenTelemetry gen_ai.client.token.usage).")
            inputTokens = registry.makeValueHistogram(
                descriptor: usage, labels: labels + [("gen_ai_token_type", "input")], buckets: ServerMetrics.tokenUsageBuckets)
            outputTokens = registry.makeValueHistogram(
                descriptor: usage, labels: labels + [("gen_ai_token_type", "output")], buckets: ServerMetrics.tokenUsageBuckets)
        }
    }

    private struct GenAIKey: Hashable {
        var provider: String
        var requestModel: String
        var responseModel: String
        var error: String?
    }

    /// Handles made so far, by method and by GenAI label set. Label values come from the
    /// server's own routes (a model the server does not serve ends NOT_FOUND under one
    /// `(unknown)` label), so these stay as small as the configuration. Each lock guards one
    /// dictionary for a lookup or an insert; handles are made outside it (two threads may
    /// both make one: the registry returns the same metric, and the first insert wins).
    private let methods = Mutex<[String: MethodMetrics]>([:])
    private let genAI = Mutex<[GenAIKey: GenAIMetrics]>([:])
    private let durations = Mutex<[DurationKey: ValueHistogram]>([:])

    private func duration(of key: DurationKey) -> ValueHistogram {
        if let known = durations.withLock({ $0[key] }) { return known }
        let made = registry.makeValueHistogram(
            descriptor: ServerMetrics.name(
                "grpc_server_call_duration", "seconds", "gRPC call duration, headers to trailers (gRPC A66 grpc.server.call.duration)."),
            labels: [("grpc_method", key.method), ("grpc_status", "\(key.code)")], buckets: ServerMetrics.grpcDurationBuckets)
        return durations.withLock { Self.insert(made, for: key, into: &$0) }
    }

    private func metrics(of method: String) -> MethodMetrics {
        if let known = methods.withLock({ $0[method] }) { return known }
        let made = MethodMetrics(method: method, registry: registry)
        return methods.withLock { Self.insert(made, for: method, into: &$0) }
    }

    private func metrics(of key: GenAIKey) -> GenAIMetrics {
        if let known = genAI.withLock({ $0[key] }) { return known }
        let made = GenAIMetrics(key, registry: registry)
        return genAI.withLock { Self.insert(made, for: key, into: &$0) }
    }

    /// The handle already made for `key` (another thread may have made it meanwhile), or `made`.
    private static func insert<Key: Hashable, Value>(_ made: Value, for key: Key, into handles: inout [Key: Value]) -> Value {
        if let existing = handles[key] { return existing }
        handles[key] = made
        return made
    }

    func callStarted(method: String) {
        activeCalls.increment()
        metrics(of: method).started.increment()
    }

    /// A call whose request arrived at `arrivedAt` ended now with `status`; `report` is
    /// what its handler learned.
    func callEnded(
        method: String, status: GRPCStatus, arrivedAt: NIODeadline, report: CallReport.Fields, frames: Int, bytes: Int, tenant: String? = nil
    ) {
        activeCalls.decrement()
        if let tenant { tenantCallEnded(tenant, method: method, code: status.code, outputTokens: report.outputTokens) }
        let seconds = Double((NIODeadline.now() - arrivedAt).nanoseconds) / 1e9
        let methodMetrics = metrics(of: method)
        duration(of: DurationKey(method: method, code: status.code)).record(seconds)
        if frames > 0 {
            methodMetrics.frames.increment(by: Int64(frames))
            methodMetrics.bytes.increment(by: Int64(bytes))
        }
        // The GenAI metrics: calls that asked a model for tokens (not resumes, not health).
        guard !report.requestedModel.isEmpty, report.requestedModel != "(resume)" else { return }
        // A model nobody serves is the caller's text: one label for all of them.
        let served = !report.provider.isEmpty
        let key = GenAIKey(
            provider: served ? report.provider : "(none)", requestModel: served ? report.requestedModel : "(unknown)",
            responseModel: report.servedModel, error: status.code == .ok ? nil : "\(status.code)")
        let genAI = metrics(of: key)
        genAI.duration.record(seconds)
        if let first = report.firstContentAt {
            let ttft = max(0, Double((first - arrivedAt).nanoseconds) / 1e9)
            genAI.timeToFirstToken.record(ttft)
            if let output = report.outputTokens, output > 1 {
                genAI.timePerOutputToken.record(max(0, seconds - ttft) / Double(output - 1))
            }
        }
        if let tokens = report.inputTokens { genAI.inputTokens.record(Double(tokens)) }
        if let tokens = report.outputTokens { genAI.outputTokens.record(Double(tokens)) }
    }

    // MARK: Service events

    /// A tenant's call ended (`--auth-tokens`): counted by tenant, method and status, and
    /// its output tokens.
    private func tenantCallEnded(_ tenant: String, method: String, code: GRPCStatus.Code, outputTokens: UInt32?) {
        registry.makeCounter(
            descriptor: Self.name("tokenwire_tenant_calls", "total", "Calls by tenant (--auth-tokens), method and status."),
            labels: [("tenant", tenant), ("grpc_method", method), ("grpc_status", "\(code)")]
        ).increment()
        if let outputTokens, outputTokens > 0 {
            registry.makeCounter(
                descriptor: Self.name("tokenwire_tenant_output_tokens", "total", "Output tokens by tenant (--auth-tokens)."),
                labels: [("tenant", tenant)]
            ).increment(by: Int64(outputTokens))
        }
    }

    /// An output filter's deny pattern ended a call (or batch item).
    func filterDenied(filter: String) {
        registry.makeCounter(
            descriptor: Self.name("tokenwire_filter_denials", "total", "Calls and batch items an output filter's deny pattern ended."),
            labels: [("filter", filter)]
        ).increment()
    }

    /// A hedged call's primary route was slow (or failed): its hedge routes started.
    func hedgeStarted(model: String) {
        registry.makeCounter(
            descriptor: Self.name("tokenwire_hedges_started", "total", "Hedged calls whose hedge routes started (the primary had no content in time, or failed)."),
            labels: [("gen_ai_request_model", model)]
        ).increment()
    }

    /// A hedged call was served by `winner` (after the hedge started).
    func hedgeWon(model: String, winner: String) {
        registry.makeCounter(
            descriptor: Self.name("tokenwire_hedge_wins", "total", "Hedged calls by the route that served them."),
            labels: [("gen_ai_request_model", model), ("gen_ai_response_model", winner)]
        ).increment()
    }

    /// A call without a valid token was refused UNAUTHENTICATED.
    func unauthenticated() {
        registry.makeCounter(descriptor: Self.name("tokenwire_unauthenticated_calls", "total", "Calls refused UNAUTHENTICATED (--auth-tokens).")).increment()
    }

    /// A tenant's call was refused for its max_active_calls.
    func tenantRefused(tenant: String) {
        registry.makeCounter(
            descriptor: Self.name("tokenwire_tenant_refusals", "total", "Calls refused RESOURCE_EXHAUSTED by their tenant's max_active_calls."),
            labels: [("tenant", tenant)]
        ).increment()
    }

    func heartbeatSent(provider: String) { heartbeatsSent.increment() }
    func admissionRefused() { admissionRefusals.increment() }

    func fallback(from model: String, to next: String) {
        registry.makeCounter(descriptor: Self.name("tokenwire_fallbacks", "total", "Calls moved on to a fallback model before their first token."), labels: [("gen_ai_request_model", model), ("fallback_model", next)]).increment()
    }

    /// A resume: `attached` (live, here), `ended` (replayed a finished stream), `remote`
    /// (served from the resume store), or the status code it was refused with.
    func resumed(outcome: String) {
        registry.makeCounter(descriptor: Self.name("tokenwire_resumes", "total", "Resume calls, by outcome."), labels: [("outcome", outcome)])
            .increment()
    }

    // MARK: ProviderEventObserver

    func upstreamAttempt(provider: String, outcome: String, code: String) {
        registry.makeCounter(descriptor: Self.name("tokenwire_upstream_attempts", "total", "Upstream requests, by provider and outcome (ok, retried, failed) with the status they meant."), labels: [("gen_ai_provider_name", provider), ("outcome", outcome), ("grpc_status", code)]).increment()
    }

    func upstreamStalled(provider: String) {
        registry.makeCounter(descriptor: Self.name("tokenwire_upstream_stalls", "total", "Upstreams that went silent past their stall timeout."), labels: [("gen_ai_provider_name", provider)]).increment()
    }
}
