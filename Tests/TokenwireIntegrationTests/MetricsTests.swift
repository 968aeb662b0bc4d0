import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireServer
import TokenwireTestSupport

/// Issue 11, "Metrics": `GET /metrics` in the Prometheus text format, checked by the real
/// tools: `promtool check metrics` (Debian's prometheus) and Python's `prometheus_client`
/// parser, which also reads the values back.
@Suite("Prometheus metrics")
struct MetricsTests {
    /// One sample: its name, labels and value.
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The server's /metrics text, as curl fetches it.
    static func scrape(_ port: Int) async throws -> String {
        let output = try await runProcess("curl", ["-sS", "--max-time", "10", "-D", "-", "http://127.0.0.1:\(port)/metrics"])
        #expect(output.status == 0, "\(output.stderr)")
        let parts = output.stdout.components(separatedBy: "\r\n\r\n")
        try #require(parts.count == 2, "\(output.stdout.prefix(300))")
        #expect(parts[0].hasPrefix("HTTP/1.1 200"))
        #expect(parts[0].lowercased().contains("content-type: text/plain; version=0.0.4"))
        return parts[1]
    }

    /// `promtool check metrics` of `text`: its complaints (empty: none).
    static func promtool(_ text: String) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try await runProcess("sh", ["-c", "promtool check metrics < '\(file.path)' 2>&1; echo \"exit=$?\""])
        return output.stdout.contains("exit=0") ? "" : output.stdout
    }

    /// Every sample of `text`, as prometheus_client's parser reads them.
    static func parse(_ text: String) async throws -> [Sample] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = open(sys.argv[1]).read()
            print(json.dumps([{"name": s.name, "labels": s.labels, "value": s.value}
                              for family in text_string_to_metric_families(text) for s in family.samples]))
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try await runProcess("python3", ["-c", script, file.path])
        #expect(output.status == 0, "\(output.stderr)")
        return try JSONDecoder().decode([Sample].self, from: Data(output.stdout.utf8))
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }

    @Test func metricsEndpointServesGenAIAndGRPCMetricsThatPromtoolAndPrometheusClientAccept() async throws {
        try await withTestServer(configure: { $0.metrics = MetricsAddress(port: 0) }) { server, port in
            let metricsPort = try #require(server.metricsPort)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                _ = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 5)).collect()
                await #expect(throws: TokenwireError.self) { _ = try await client.generate(GenerateRequest(model: "nope/none")).collect() }
            }
            let text = try await Self.scrape(metricsPort)
            #expect(try await Self.promtool(text) == "")
            let samples = try await Self.parse(text)
            let generate = ["grpc_method": "/tokenwire.v1.TokenStream/Generate"]
            #expect(Self.value(samples, "grpc_server_call_started_total", generate) == 2)
            #expect(Self.value(samples, "grpc_server_call_duration_seconds_count", generate.merging(["grpc_status": "OK"]) { $1 }) == 1)
            #expect(Self.value(samples, "grpc_server_call_duration_seconds_count", generate.merging(["grpc_status": "NOT_FOUND"]) { $1 }) == 1)
            let flood = [
                "gen_ai_operation_name": "chat", "gen_ai_provider_name": "synthetic", "gen_ai_request_model": "synthetic/flood",
                "gen_ai_response_model": "synthetic/flood",
            ]
            #expect(Self.value(samples, "gen_ai_server_time_to_first_token_seconds_count", flood) == 1)
            let ttft = try #require(Self.value(samples, "gen_ai_server_time_to_first_token_seconds_sum", flood))
            let duration = try #require(Self.value(samples, "gen_ai_server_request_duration_seconds_sum", flood))
            #expect(ttft > 0 && ttft <= duration)
            #expect(Self.value(samples, "gen_ai_server_time_per_output_token_seconds_count", flood) == 1)
            #expect(Self.value(samples, "gen_ai_client_token_usage_sum", flood.merging(["gen_ai_token_type": "output"]) { $1 }) == 5)
            // A model nobody serves is the caller's text: it goes under one label, so callers
            // cannot grow the server's label sets.
            #expect(Self.value(samples, "gen_ai_server_request_duration_seconds_count", ["gen_ai_request_model": "(unknown)", "error_type": "NOT_FOUND"]) == 1)
            #expect(!text.contains("nope/none"))
            // start, five tokens, finish
            #expect(Self.value(samples, "tokenwire_frames_sent_total", generate) == 7)
            #expect((Self.value(samples, "tokenwire_bytes_sent_total", generate) ?? 0) > 7 * 5)
            #expect(Self.value(samples, "tokenwire_active_calls") == 0)
        }
    }

    @Test func upstreamRetriesAndFailuresAreCountedByProviderAndOutcome() async throws {
        try await withFakeProvider { fake in
            var provider = fake.provider(.openAIChat, name: "fake", retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10)))
            provider.models = ["m"]
            try await withTestServer(configure: { $0.metrics = MetricsAddress(port: 0) }, relay: RelayConfiguration(providers: [provider])) { server, port in
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    let failed = await collect(client, fakeRequest("fake", ["x-fake-fault": "status:503"]))
                    #expect(failed.status.code == .unavailable)
                    let ok = await collect(client, fakeRequest("fake", maxTokens: 3, ["x-fake-tokens": "3"]))
                    #expect(ok.status.code == .ok, "\(ok.status)")
                }
                let samples = try await Self.parse(try await Self.scrape(try #require(server.metricsPort)))
                let fakeProvider = ["gen_ai_provider_name": "fake"]
                #expect(Self.value(samples, "tokenwire_upstream_attempts_total", fakeProvider.merging(["outcome": "retried", "grpc_status": "UNAVAILABLE"]) { $1 }) == 1)
                #expect(Self.value(samples, "tokenwire_upstream_attempts_total", fakeProvider.merging(["outcome": "failed", "grpc_status": "UNAVAILABLE"]) { $1 }) == 1)
                #expect(Self.value(samples, "tokenwire_upstream_attempts_total", fakeProvider.merging(["outcome": "ok"]) { $1 }) == 1)
            }
        }
    }

    @Test func metricsEndpointAnswersOnlyGetMetrics() async throws {
        try await withTestServer(configure: { $0.metrics = MetricsAddress(port: 0) }) { server, _ in
            let metricsPort = try #require(server.metricsPort)
            let other = try await runProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(metricsPort)/other"])
            #expect(other.stdout == "404")
            let post = try await runProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "http://127.0.0.1:\(metricsPort)/metrics"])
            #expect(post.stdout == "405")
        }
    }
}
