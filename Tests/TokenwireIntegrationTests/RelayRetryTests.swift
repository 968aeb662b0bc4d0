import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireUpstream

/// Retries before the first token, fallbacks, and cancellation reaching the provider.
@Suite("Upstream retries, fallbacks and cancellation")
struct RelayRetryTests {
    static let quickRetries = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50))

    func withRelay(
        _ providers: @escaping @Sendable (FakeProvider) -> [UpstreamProviderConfiguration],
        aliases: [String: String] = [:],
        fallbacks: [String: [String]] = [:],
        _ body: @escaping @Sendable (TokenwireClient, FakeProvider) async throws -> Void
    ) async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: providers(fake), aliases: aliases, fallbacks: fallbacks)
            try await withServerAndClient(relay: relay) { _, client in try await body(client, fake) }
        }
    }

    /// The logged requests whose id starts with `prefix` (the fake provider suffixes repeats).
    func requests(_ fake: FakeProvider, idPrefix prefix: String) async throws -> [[String: Any]] {
        try await fake.requests().filter { ($0["id"] as? String)?.hasPrefix(prefix) == true }
    }

    @Test func retriesEndWithTheLastStatusAfterEveryTry() async throws {
        try await withRelay({ [$0.provider(.openAIChat, retry: Self.quickRetries)] }) { client, fake in
            let outcome = await collect(
                client, fakeRequest("openai-chat", ["x-fake-fault": "status:503", "x-fake-request-id": "busy"]))
            #expect(outcome.status.code == .unavailable)
            #expect(outcome.status.message.contains("(after 3 tries)"), "\(outcome.status.message)")
            #expect(outcome.frames.isEmpty)
            let logged = try await requests(fake, idPrefix: "busy")
            #expect(logged.count == 3)
        }
    }

    @Test func retryAfterPastTheDeadlineIsNotWaitedFor() async throws {
        try await withRelay({ [$0.provider(.openAIChat, retry: Self.quickRetries)] }) { client, fake in
            // The provider asks for 60 s; the call has 30 s (never reached: the answer is at once).
            let outcome = await collect(
                client,
                fakeRequest("openai-chat", ["x-fake-fault": "status:429,retry-after:60", "x-fake-request-id": "limited"]),
                deadline: .seconds(30))
            #expect(outcome.status.code == .resourceExhausted, "\(outcome.status)")
            #expect(outcome.status.message.contains("the provider asked to wait"), "\(outcome.status.message)")
            let logged = try await requests(fake, idPrefix: "limited")
            #expect(logged.count == 1)
        }
    }

    @Test func failureAfterTheFirstTokenIsNeverRetried() async throws {
        try await withRelay({ [$0.provider(.openAIChat, retry: Self.quickRetries)] }) { client, fake in
            let outcome = await collect(
                client,
                fakeRequest("openai-chat", ["x-fake-tokens": "10", "x-fake-fault": "error-after:4", "x-fake-request-id": "late"]))
            #expect(outcome.status.code == .unavailable)
            #expect(outcome.text == RelayFaultTests.syntheticText(3))
            let logged = try await requests(fake, idPrefix: "late")
            #expect(logged.count == 1, "tokens the client has must never be replayed")
        }
    }

    @Test func fallbackServesTheCallWhenThePrimaryFailsBeforeItsFirstToken() async throws {
        try await withRelay(
            { fake in
                [
                    fake.provider(.openAIChat, name: "primary", headers: ["x-fake-fault": "status:503"]),
                    fake.provider(.anthropic, name: "backup"),
                ]
            },
            aliases: ["best": "primary/m"],
            fallbacks: ["best": ["backup/m"]]
        ) { client, fake in
            let outcome = await collect(client, GenerateRequest(model: "best", maxTokens: 4))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(outcome.text == RelayFaultTests.syntheticText(4))
            guard case .start(let start) = outcome.frames.first?.event else {
                Issue.record("no StreamStart")
                return
            }
            #expect(start.provider == "backup")
            #expect(start.model == "backup/m")
            let targets = try await fake.requests().compactMap { $0["target"] as? String }
            #expect(targets == ["/v1/chat/completions", "/v1/messages"])
        }
    }

    @Test func whenEveryFallbackFailsTheStatusKeepsEachRoutesMessagePrimaryFirst() async throws {
        try await withRelay(
            { fake in
                [
                    fake.provider(.openAIChat, name: "primary", headers: ["x-fake-fault": "status:503"]),
                    fake.provider(.anthropic, name: "backup", headers: ["x-fake-fault": "status:529"]),
                ]
            },
            aliases: ["best": "primary/m"],
            fallbacks: ["best": ["backup/m"]]
        ) { client, _ in
            let outcome = await collect(client, GenerateRequest(model: "best", maxTokens: 4))
            #expect(outcome.status.code == .unavailable, "\(outcome.status)")
            let message = outcome.status.message
            let primary = try #require(message.range(of: "primary/m failed: UNAVAILABLE: provider 'primary' answered HTTP 503"), "\(message)")
            let backup = try #require(message.range(of: "then backup/m failed: UNAVAILABLE: provider 'backup' answered HTTP 529"), "\(message)")
            #expect(primary.lowerBound < backup.lowerBound)
        }
    }

    @Test func cancellingTheCallCancelsTheUpstreamRequest() async throws {
        try await withRelay({ [$0.provider(.openAIChat)] }) { client, fake in
            let request = fakeRequest(
                "openai-chat", ["x-fake-tokens": "1000", "x-fake-rate": "50", "x-fake-request-id": "cancelled"])
            let reading = Task {
                var texts = 0
                for try await frame in client.generate(request) {
                    if case .text = frame.event { texts += 1 }
                    if texts == 3 { try await suspendUntilCancelled() }
                }
            }
            let underWay = try await fake.request("cancelled", until: .eventsSent(4))
            try #require(underWay["outcome"] as? String == "in-progress", "\(underWay)")
            let cancelledAt = Date().timeIntervalSince1970
            reading.cancel()
            let entry = try await fake.request("cancelled")
            #expect(entry["disconnected"] as? Bool == true, "the provider must see the request go away: \(entry)")
            if let gone = (entry["disconnected_ns"] as? NSNumber)?.doubleValue {
                print("upstream saw the cancellation \(Int((gone / 1e9 - cancelledAt) * 1000)) ms after the client cancelled")
            }
        }
    }

    @Test func expiredDeadlineCancelsTheUpstreamRequest() async throws {
        try await withRelay({ [$0.provider(.openAIChat)] }) { client, fake in
            let outcome = await collect(
                client,
                fakeRequest("openai-chat", ["x-fake-tokens": "1000", "x-fake-rate": "20", "x-fake-request-id": "late"]),
                deadline: callDeadlineBudget)
            #expect(outcome.status.code == .deadlineExceeded, "\(outcome.status)")
            #expect(!outcome.text.isEmpty)
            let entry = try await fake.request("late")
            #expect(entry["disconnected"] as? Bool == true, "\(entry)")
        }
    }

    @Test func completeAssemblesRecordedParallelToolCalls() async throws {
        try await withRelay({ [$0.provider(.openAIChat)] }) { client, _ in
            let completion = try await client.complete(
                fakeRequest("openai-chat", ["x-fake-replay": "openai-chat-parallel-toolcalls.sse"]))
            #expect(completion.toolCalls == [
                ToolCall(id: "call_JMW1whyEaYG438VE1OIflxA2", name: "GetWeatherArgs",
                         arguments: #"{"city": "Edinburgh", "country": "GB", "units": "c"}"#),
                ToolCall(id: "call_DNYTawLBoN8fj3KN6qU9N1Ou", name: "get_stock_price",
                         arguments: #"{"ticker": "AAPL", "exchange": "NASDAQ"}"#),
            ])
            #expect(completion.finish?.reason == "tool_calls")
            #expect(completion.finish?.usage == Usage(inputTokens: 149, outputTokens: 60))
        }
    }

    @Test func grpcioCompleteGetsTheAssembledToolCalls() async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.anthropic)])
            try await withTestServer(relay: relay) { _, port in
                let results = try await runGrpcioRelay(port: port, calls: [
                    ["method": "Complete", "model": "anthropic/m", "metadata": ["x-fake-replay": "anthropic-tool-use.sse"]]
                ])
                let completion = try #require(results.first?["completion"] as? [String: Any], "\(results)")
                let calls = try #require(completion["tool_calls"] as? [[String: Any]])
                #expect(calls.count == 1)
                #expect(calls.first?["arguments_error"] == nil, "valid JSON has no arguments_error: \(calls)")
                #expect((calls.first?["name"] as? String)?.isEmpty == false)
            }
        }
    }
}
