import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProviders
import TokenwireRelay
import TokenwireUpstream

/// Hedged first tokens (issue 12 part 3) through the fake provider: routes are fake
/// providers whose static headers make them slow (response headers after 20 s), failing
/// (HTTP 500) or prompt, each with its own request id in the fake provider's log.
@Suite("Hedged first tokens")
struct HedgeTests {
    /// A server with the providers `slow`, `fast`, `broken` (all openai-chat, model `m`)
    /// and `hedges`; `ids` are their request ids in the fake provider's log.
    static func withHedgedServer(
        hedges: [String: HedgeSpec], _ body: (TokenwireClient, FakeProvider, _ ids: [String: String]) async throws -> Void
    ) async throws {
        try await withFakeProvider { fake in
            let run = UUID().uuidString
            let ids = ["slow": "hedge-slow-\(run)", "fast": "hedge-fast-\(run)", "broken": "hedge-broken-\(run)"]
            let faults = ["slow": "slow-headers:20000", "fast": "", "broken": "status:500"]
            var relay = RelayConfiguration(providers: ["slow", "fast", "broken"].map { name in
                var headers = ["x-fake-request-id": ids[name]!]
                if let fault = faults[name], !fault.isEmpty { headers["x-fake-fault"] = fault }
                return fake.provider(.openAIChat, name: name, headers: headers)
            })
            relay.hedges = hedges
            try await withServerAndClient(relay: relay) { _, client in
                try await body(client, fake, ids)
            }
        }
    }

    static func servedBy(_ outcome: CallOutcome) -> String? {
        guard case .start(let start) = outcome.events.first else { return nil }
        return start.provider
    }

    static let sixteenTokens = (1...16).map { "tok\($0) " }.joined()

    @Test func slowPrimaryLosesToAFastHedgeWhoseStreamIsWholeAndThePrimaryIsCancelled() async throws {
        try await Self.withHedgedServer(hedges: ["slow/m": HedgeSpec(afterMilliseconds: 100, routes: ["fast/m"])]) { client, fake, ids in
            let outcome = await collect(client, GenerateRequest(model: "slow/m", messages: [ChatMessage(role: "user", content: "hi")]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(Self.servedBy(outcome) == "fast")
            #expect(outcome.text == Self.sixteenTokens)
            let slow = try await fake.request(ids["slow"]!)
            #expect(slow["disconnected"] as? Bool == true, "the losing primary's upstream must be closed: \(slow)")
        }
    }

    @Test func primaryWithContentBeforeTheHedgeIsDueNeverStartsIt() async throws {
        try await Self.withHedgedServer(hedges: ["fast/m": HedgeSpec(afterMilliseconds: 60_000, routes: ["slow/m"])]) { client, fake, ids in
            let outcome = await collect(client, GenerateRequest(model: "fast/m", messages: [ChatMessage(role: "user", content: "hi")]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(Self.servedBy(outcome) == "fast")
            #expect(outcome.text == Self.sixteenTokens)
            let logged = try await fake.requests().compactMap { $0["id"] as? String }
            #expect(!logged.contains(ids["slow"]!), "the hedge must not start: \(logged)")
        }
    }

    @Test func failingPrimaryStartsTheHedgeAtOnceAndTheHedgeServes() async throws {
        try await Self.withHedgedServer(hedges: ["broken/m": HedgeSpec(afterMilliseconds: 60_000, routes: ["fast/m"])]) { client, _, _ in
            let outcome = await collect(client, GenerateRequest(model: "broken/m", messages: [ChatMessage(role: "user", content: "hi")]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(Self.servedBy(outcome) == "fast")
            #expect(outcome.text == Self.sixteenTokens)
        }
    }

    @Test func whenEveryRouteFailsTheCallEndsWithThePrimarysError() async throws {
        try await Self.withHedgedServer(hedges: ["broken/m": HedgeSpec(afterMilliseconds: 60_000, routes: ["broken/m"])]) { client, _, _ in
            let outcome = await collect(client, GenerateRequest(model: "broken/m", messages: [ChatMessage(role: "user", content: "hi")]))
            #expect(outcome.status.code != .ok)
            #expect(outcome.status.message.contains("provider 'broken'"), "\(outcome.status.message)")
            #expect(outcome.text.isEmpty)
        }
    }

    @Test func hedgesNamingUnknownModelsAreRefused() {
        let provider = #""providers": [{"name": "p", "dialect": "openai-chat", "base_url": "http://127.0.0.1:1", "models": ["m"]}]"#
        func problem(_ hedges: String) -> String? {
            do {
                _ = try RelayConfiguration.parse(Data("{\(provider), \"hedges\": \(hedges)}".utf8))
                return nil
            } catch {
                return error.problem
            }
        }
        #expect(problem(#"{"p/m": {"after_ms": 100, "routes": ["q/m"]}}"#)?.contains("names 'q/m'") == true)
        #expect(problem(#"{"x/m": {"after_ms": 100, "routes": ["p/m"]}}"#)?.contains("hedges has 'x/m'") == true)
        #expect(problem(#"{"p/m": {"routes": ["p/m"]}}"#)?.contains("needs 'after_ms'") == true)
        #expect(problem(#"{"p/m": {"after_ms": 100, "routes": ["p/m"], "x": 1}}"#)?.contains("unknown key 'x'") == true)
        #expect(problem(#"{"p/m": {"after_ms": 100, "routes": ["p/m"]}}"#) == nil)
    }
}
