import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
import TokenwireCore
import TokenwireHTTP2
import TokenwireProcess
import TokenwireProviders
import TokenwireRelay
import TokenwireTestSupport
import TokenwireWire

/// Issue 11, "Logs and traces": one log line per finished call (text or `--log-format
/// json`), and the caller's W3C trace context passed on to the upstream request.
@Suite("Call log lines and trace context")
struct CallLogTests {
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// `request` as one length-prefixed gRPC message.
    static func framedRequest(_ request: GenerateRequest) -> [UInt8] {
        var buffer = ByteBuffer()
        GRPCMessageFramer.appendMessage(request, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func traceHeaders(_ parent: String, state: String? = "vendor=opaque") -> [HTTP2Header] {
        [HTTP2Header("traceparent", parent)] + (state.map { [HTTP2Header("tracestate", $0)] } ?? [])
    }

    // MARK: The trace context's rules

    @Test func wellFormedTraceparentIsKeptWithItsTracestate() throws {
        let trace = try #require(TraceContext(metadata: [("traceparent", Self.traceparent), ("tracestate", "a=1"), ("tracestate", "b=2")]))
        #expect(trace.traceparent == Self.traceparent)
        #expect(trace.tracestate == "a=1,b=2")
    }

    @Test func malformedTraceparentIsIgnoredWithItsTracestate() {
        let bad = [
            "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  // no flags
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 is exactly 55
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        ]
        for parent in bad {
            #expect(TraceContext(metadata: [("traceparent", parent), ("tracestate", "a=1")]) == nil, "\(parent)")
        }
        #expect(TraceContext(metadata: [("tracestate", "a=1")]) == nil)
    }

    @Test func laterVersionsLongerFormIsKeptAndAnOverlongOrUnprintableTracestateIsDropped() throws {
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"
        #expect(TraceContext(metadata: [("traceparent", future)])?.traceparent == future)
        let long = String(repeating: "k=v,", count: 200)
        #expect(try #require(TraceContext(metadata: [("traceparent", Self.traceparent), ("tracestate", long)])).tracestate == nil)
        #expect(try #require(TraceContext(metadata: [("traceparent", Self.traceparent), ("tracestate", "a=\u{0}")])).tracestate == nil)
    }

    // MARK: Upstream

    @Test func relayPassesTheCallersTraceContextToTheProviderAndNothingWhenItSentNone() async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat)])
            try await withTestServer(relay: relay) { _, port in
                let client = try await RawHTTP2Client.connect(port: port)
                defer { Task { await client.close() } }
                let generate = "/tokenwire.v1.TokenStream/Generate"
                let traced = try await client.send(
                    path: generate, extraHeaders: Self.traceHeaders(Self.traceparent),
                    body: Self.framedRequest(fakeRequest("openai-chat", ["x-fake-tokens": "2", "x-fake-request-id": "traced"])))
                #expect(traced.grpcStatus == 0, "\(traced.grpcMessage)")
                let entry = try await fake.request("traced")
                #expect(entry["traceparent"] as? String == Self.traceparent)
                #expect(entry["tracestate"] as? String == "vendor=opaque")

                let malformed = try await client.send(
                    path: generate, extraHeaders: Self.traceHeaders("00-nonsense"),
                    body: Self.framedRequest(fakeRequest("openai-chat", ["x-fake-tokens": "2", "x-fake-request-id": "malformed"])))
                #expect(malformed.grpcStatus == 0, "\(malformed.grpcMessage)")
                let untraced = try await fake.request("malformed")
                #expect(untraced["traceparent"] is NSNull, "a malformed traceparent must not travel: \(untraced)")
                #expect(untraced["tracestate"] is NSNull)
            }
        }
    }

    // MARK: The log line

    /// Runs `tokenwire serve --log-format json --port 0`, hands `body` its port, then stops
    /// it (SIGTERM) and returns its log lines, parsed.
    static func withJSONLoggingServer(arguments: [String] = [], _ body: (Int) async throws -> Void) async throws -> [[String: Any]] {
        let (server, port) = try await ServeProcess.start(["--port", "0", "--log-format", "json"] + arguments) { seen in
            seen.range(of: #""address":"127.0.0.1:"#).flatMap { Int(seen[$0.upperBound...].prefix(while: \.isNumber)) }
        }
        do {
            try await body(port)
        } catch {
            _ = try? await server.stop()
            throw error
        }
        let (termination, text) = try await server.stop()
        #expect(termination == .exited(0))
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try #require(object as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test func jsonLogHasOneLinePerFinishedCallWithModelsTokensTTFTPeerStatusAndTrace() async throws {
        let lines = try await Self.withJSONLoggingServer { port in
            let client = try await RawHTTP2Client.connect(port: port)
            let ok = try await client.send(
                path: "/tokenwire.v1.TokenStream/Generate", extraHeaders: Self.traceHeaders(Self.traceparent),
                body: Self.framedRequest(GenerateRequest(model: "synthetic/flood", maxTokens: 7)))
            #expect(ok.grpcStatus == 0)
            let missing = try await client.send(
                path: "/tokenwire.v1.TokenStream/Generate", body: Self.framedRequest(GenerateRequest(model: "nope/none")))
            #expect(missing.grpcStatus == 5)
            await client.close()
        }
        for line in lines {
            for key in ["time", "level", "label", "message"] { #expect(line[key] is String, "\(key) in \(line)") }
        }
        let calls = lines.filter { $0["message"] as? String == "call" }
        try #require(calls.count == 2, "\(lines)")
        let ok = calls[0]
        #expect(ok["level"] as? String == "info")
        #expect(ok["method"] as? String == "/tokenwire.v1.TokenStream/Generate")
        #expect(ok["status"] as? String == "OK")
        #expect(ok["status_message"] == nil)
        #expect(ok["model"] as? String == "synthetic/flood")
        #expect(ok["served_model"] as? String == "synthetic/flood")
        #expect(ok["provider"] as? String == "synthetic")
        #expect(ok["tokens_out"] as? Int == 7)
        #expect(ok["tokens_in"] as? Int == 0)
        let ttft = try #require(ok["ttft_ms"] as? Double)
        let duration = try #require(ok["duration_ms"] as? Double)
        #expect(ttft >= 0 && ttft <= duration)
        #expect((ok["peer"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(ok["traceparent"] as? String == Self.traceparent)
        #expect(ok["tracestate"] as? String == "vendor=opaque")
        let missing = calls[1]
        #expect(missing["status"] as? String == "NOT_FOUND")
        #expect((missing["status_message"] as? String)?.contains("unknown model 'nope/none'") == true)
        #expect(missing["model"] as? String == "nope/none")
        #expect(missing["ttft_ms"] == nil)
        #expect(missing["traceparent"] == nil)
    }

    @Test func upstreamRefusingTheKeyRetriesAndFallbacksAreWarnings() async throws {
        try await withFakeProvider { fake in
            let provider: [String: Any] = [
                "dialect": "openai-chat", "base_url": fake.baseURL(for: .openAIChat), "forward_metadata": ["x-fake-*"],
                "max_attempts": 2, "initial_backoff_ms": 10,
            ]
            let config: [String: Any] = [
                "providers": [provider.merging(["name": "fake", "models": ["m"]]) { $1 }, provider.merging(["name": "spare", "models": ["m"]]) { $1 }],
                "fallbacks": ["fake/m": ["spare/m"]],
            ]
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("call-log-\(UUID().uuidString).json")
            try JSONSerialization.data(withJSONObject: config).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let lines = try await Self.withJSONLoggingServer(arguments: ["--config", file.path]) { port in
                let client = try await RawHTTP2Client.connect(port: port)
                let refused = try await client.send(
                    path: "/tokenwire.v1.TokenStream/Generate", extraHeaders: Self.traceHeaders(Self.traceparent),
                    body: Self.framedRequest(fakeRequest("spare", ["x-fake-fault": "status:401"])))
                #expect(refused.grpcStatus == 16, "\(refused.grpcMessage)")
                let unavailable = try await client.send(
                    path: "/tokenwire.v1.TokenStream/Generate",
                    body: Self.framedRequest(fakeRequest("fake", ["x-fake-fault": "status:503"])))
                #expect(unavailable.grpcStatus == 14, "\(unavailable.grpcMessage)")
                await client.close()
            }
            let warnings = lines.filter { $0["level"] as? String == "warning" }
            let credentials = warnings.filter { ($0["message"] as? String)?.contains("refused the relay's credentials") == true }
            #expect(credentials.count == 1, "\(warnings)")
            #expect(credentials.first?["provider"] as? String == "spare")
            #expect(credentials.first?["traceparent"] as? String == Self.traceparent)
            // 503 on fake/m: tried twice, then the fallback spare/m, tried twice.
            let retries = warnings.filter { $0["message"] as? String == "retrying upstream" }
            #expect(retries.map { $0["provider"] as? String } == ["fake", "spare"], "\(warnings)")
            let fallbacks = warnings.filter { $0["message"] as? String == "falling back to the next model" }
            #expect(fallbacks.count == 1, "\(warnings)")
            #expect(fallbacks.first?["model"] as? String == "fake/m")
            #expect(fallbacks.first?["fallback"] as? String == "spare/m")
            let models = lines.first { $0["message"] as? String == "serving models" }?["models"] as? [String]
            #expect(models?.contains("fake/m") == true && models?.contains("spare/m") == true && models?.contains("synthetic/flood") == true)
        }
    }
}
