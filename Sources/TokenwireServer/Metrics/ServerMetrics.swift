import NIOCore
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

    func callStarted(method: String) {
        activeCalls.increment()
        registry.makeCounter(descriptor: Self.name("grpc_server_call_started", "total", "gRPC calls started (gRPC A66 grpc.server.call.started)."), labels: [("grpc_method", method)]).increment()
    }

    /// A call whose request arrived at `arrivedAt` ended now with `status`; `report` is
    /// what its handler learned.
    func callEnded(method: String, status: GRPCStatus, arrivedAt: NIODeadline, report: CallReport.Fields, frames: Int, bytes: Int) {
        activeCalls.decrement()
        let seconds = Double((NIODeadline.now() - arrivedAt).nanoseconds) / 1e9
        registry.makeValueHistogram(descriptor: Self.name("grpc_server_call_duration", "seconds", "gRPC call duration, headers to trailers (gRPC A66 grpc.server.call.duration)."), labels: [("grpc_method", method), ("grpc_status", "\(status.code)")],
            buckets: Self.grpcDurationBuckets).record(seconds)
        if frames > 0 {
            registry.makeCounter(descriptor: Self.name("tokenwire_frames_sent", "total", "Response messages queued for clients."), labels: [("grpc_method", method)])
                .increment(by: Int64(frames))
            registry.makeCounter(descriptor: Self.name("tokenwire_bytes_sent", "total", "Response message bytes (with their 5-byte gRPC prefixes) queued for clients."), labels: [("grpc_method", method)])
                .increment(by: Int64(bytes))
        }
        // The GenAI metrics: calls that asked a model for tokens (not resumes, not health).
        guard !report.requestedModel.isEmpty, report.requestedModel != "(resume)" else { return }
        var labels = [
            ("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", report.provider.isEmpty ? "unknown" : report.provider),
            ("gen_ai_request_model", report.requestedModel),
        ]
        if !report.servedModel.isEmpty { labels.append(("gen_ai_response_model", report.servedModel)) }
        var durationLabels = labels
        if status.code != .ok { durationLabels.append(("error_type", "\(status.code)")) }
        registry.makeValueHistogram(descriptor: Self.name("gen_ai_server_request_duration", "seconds", "Generative AI server request duration (OpenTelemetry gen_ai.server.request.duration)."), labels: durationLabels, buckets: Self.requestDurationBuckets).record(seconds)
        if let first = report.firstContentAt {
            let ttft = Double((first - arrivedAt).nanoseconds) / 1e9
            registry.makeValueHistogram(descriptor: Self.name("gen_ai_server_time_to_first_token", "seconds", "Time from the request's arrival to its first content frame (text, tool call or reasoning) queued for the client (OpenTelemetry gen_ai.server.time_to_first_token)."), labels: labels, buckets: Self.timeToFirstTokenBuckets).record(max(0, ttft))
            if let output = report.outputTokens, output > 1 {
                registry.makeValueHistogram(descriptor: Self.name("gen_ai_server_time_per_output_token", "seconds", "Time per output token after the first (OpenTelemetry gen_ai.server.time_per_output_token)."), labels: labels, buckets: Self.timePerOutputTokenBuckets).record(max(0, seconds - ttft) / Double(output - 1))
            }
        }
        for (type, tokens) in [("input", report.inputTokens), ("output", report.outputTokens)] {
            guard let tokens else { continue }
            registry.makeValueHistogram(descriptor: Self.name("gen_ai_client_token_usage", "", "Tokens used per call, input and output (OpenTelemetry gen_ai.client.token.usage)."), labels: labels + [("gen_ai_token_type", type)], buckets: Self.tokenUsageBuckets).record(Double(tokens))
        }
    }

    // MARK: Service events

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
