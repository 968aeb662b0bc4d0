import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireUpstream

/// The upstream HTTP hop itself: HTTP/2 and HTTP/1.1 over TLS, retries that succeed, and
/// backpressure from a slow client to the provider's socket.
@Suite("Upstream transport")
struct RelayTransportTests {
    @Test(arguments: [false, true])
    func relaysOverTLSWithHTTP2UnlessHTTP1IsForced(http1Only: Bool) async throws {
        try await withFakeProvider(tls: true) { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.anthropic, http1Only: http1Only)])
            try await withServerAndClient(relay: relay) { _, client in
                let outcome = await collect(client, fakeRequest("anthropic", maxTokens: 5, ["x-fake-request-id": "tls"]))
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                #expect(outcome.text == RelayFaultTests.syntheticText(5))
                let entry = try await fake.request("tls")
                #expect(entry["protocol"] as? String == (http1Only ? "http/1.1" : "h2"), "\(entry)")
                #expect(entry["tls"] as? Bool == true)
            }
        }
    }

    @Test func rateLimitedTwiceThenServedArrivesWhole() async throws {
        try await withFakeProvider { fake in
            let retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(20))
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat, retry: retry)])
            try await withServerAndClient(relay: relay) { _, client in
                let outcome = await collect(
                    client,
                    fakeRequest(
                        "openai-chat", maxTokens: 4,
                        ["x-fake-fault": "status:429,retry-after:0.05,fail-first:2", "x-fake-fault-key": "twice"]))
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                #expect(outcome.text == RelayFaultTests.syntheticText(4))
                let attempts = try await fake.requests().compactMap { ($0["status"] as? NSNumber)?.intValue }
                #expect(attempts == [429, 429, 200])
            }
        }
    }

    @Test func slowClientHoldsBackTheUpstreamReadAndLosesNothing() async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat)])
            try await withServerAndClient(relay: relay) { _, client in
                let total = 200_000
                let request = fakeRequest("openai-chat", ["x-fake-tokens": "\(total)", "x-fake-request-id": "slow"])
                var texts = 0
                var iterator = client.generate(request).makeAsyncIterator()
                while texts < 10, let frame = try await iterator.next() {
                    if case .text = frame.event { texts += 1 }
                }
                // The client stops reading: windows and socket buffers fill, then the relay
                // stops reading the upstream, and the provider cannot send the rest. Wait
                // for that: one of the provider's writes held back for 500 ms (the entry
                // comes back sooner only if the whole response went out).
                let stalled = try await fake.request("slow", until: .writeBlocked(milliseconds: 500))
                let sent = (stalled["events_sent"] as? NSNumber)?.intValue ?? 0
                #expect(sent < total / 2, "the provider sent \(sent) of \(total) events to a client that stopped reading")
                #expect(stalled["outcome"] as? String == "in-progress")
                while let frame = try await iterator.next() {
                    if case .text = frame.event { texts += 1 }
                }
                #expect(texts == total, "every token arrives once the client reads again")
            }
        }
    }
}
