import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireTestSupport
import TokenwireUpstream

/// The fake provider's faults, end to end: the client gets every frame produced before
/// the fault, then the right status with a message naming the provider; the server goes
/// on serving.
@Suite("Upstream faults relayed end to end")
struct RelayFaultTests {
    /// `tok1 tok2 ... tokN `, the fake provider's synthetic text.
    static func syntheticText(_ count: Int, from first: Int = 1) -> String {
        (first..<(first + count)).map { "tok\($0) " }.joined()
    }

    /// Runs `body` against a server relaying the fake provider (a provider per dialect,
    /// each changed by `configure`), then checks that the server still serves a good
    /// upstream call.
    func withRelay(
        timeouts: UpstreamTimeouts = FakeProvider.quietTimeouts,
        retry: RetryPolicy = RetryPolicy(maxAttempts: 1),
        configure: (inout UpstreamProviderConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TokenwireClient, FakeProvider) async throws -> Void
    ) async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(
                providers: UpstreamDialectKind.allCases.map { dialect in
                    var provider = fake.provider(dialect, timeouts: timeouts, retry: retry)
                    configure(&provider)
                    return provider
                })
            try await withServerAndClient(relay: relay) { _, client in
                try await body(client, fake)
                let after = await collect(client, fakeRequest("openai-chat", ["x-fake-tokens": "3"]))
                #expect(after.status.code == .ok, "the server must go on serving: \(after.status)")
                #expect(after.text == Self.syntheticText(3))
            }
        }
    }

    @Test(arguments: UpstreamDialectKind.allCases)
    func syntheticStreamOfEveryDialectArrivesWhole(dialect: UpstreamDialectKind) async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest(dialect.rawValue, maxTokens: 20))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(outcome.text == Self.syntheticText(20))
            guard case .finish(let finish) = outcome.contentEvents.last else {
                Issue.record("no Finish last: \(outcome.contentEvents.suffix(2))")
                return
            }
            #expect(finish.reason == "length")
            if let usage = finish.usage { #expect(usage.inputTokens == 8) }
        }
    }

    @Test(arguments: ["drop-after:5", "reset-after:5"])
    func lostConnectionEndsUnavailableAfterEveryTokenProduced(fault: String) async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest("openai-chat", ["x-fake-tokens": "10", "x-fake-fault": fault]))
            #expect(outcome.text == Self.syntheticText(4), "the 4 tokens sent before the drop")
            #expect(outcome.status.code == .unavailable, "\(outcome.status)")
            #expect(outcome.status.message.contains("provider 'openai-chat'"), "\(outcome.status.message)")
        }
    }

    @Test func stalledUpstreamEndsUnavailableNamingTheProvider() async throws {
        // The first heartbeat is due at 100 ms; a stall timeout 30 times later leaves room
        // for a watchdog woken late on a loaded machine.
        let timeouts = UpstreamTimeouts(stall: .seconds(3), firstHeartbeat: .milliseconds(100), heartbeatInterval: .milliseconds(100))
        try await withRelay(timeouts: timeouts) { client, fake in
            let outcome = await collect(
                client,
                fakeRequest("openai-chat", ["x-fake-tokens": "10", "x-fake-fault": "stall-after:3", "x-fake-request-id": "stall"]))
            #expect(outcome.text == Self.syntheticText(2))
            #expect(outcome.status.code == .unavailable, "\(outcome.status)")
            #expect(outcome.status.message.contains("provider 'openai-chat' sent nothing for"), "\(outcome.status.message)")
            #expect(outcome.heartbeats >= 1, "a silent upstream gives the client heartbeats before the stall timeout")
            let entry = try await fake.request("stall")
            #expect(entry["disconnected"] as? Bool == true, "Tokenwire must close the stalled upstream: \(entry)")
        }
    }

    @Test func malformedJSONEndsInternalAfterEveryTokenBeforeIt() async throws {
        try await withRelay { client, _ in
            let outcome = await collect(
                client, fakeRequest("openai-chat", ["x-fake-tokens": "10", "x-fake-fault": "malformed-json-after:4"]))
            #expect(outcome.text == Self.syntheticText(3))
            #expect(outcome.status.code == .internal, "\(outcome.status)")
            #expect(outcome.status.message.contains("malformed JSON"), "\(outcome.status.message)")
        }
    }

    @Test(arguments: UpstreamDialectKind.allCases)
    func errorEventMidStreamEndsTheCallAfterEveryTokenBeforeIt(dialect: UpstreamDialectKind) async throws {
        try await withRelay { client, _ in
            // 8 events: past every dialect's preamble (OpenAI Responses has 4), so tokens come first.
            let outcome = await collect(
                client, fakeRequest(dialect.rawValue, ["x-fake-tokens": "10", "x-fake-fault": "error-after:8"]))
            #expect(!outcome.text.isEmpty && Self.syntheticText(10).hasPrefix(outcome.text), "\(outcome.text)")
            if dialect == .cohere {
                // Cohere reports a failed generation as message-end with finish_reason ERROR.
                guard case .finish(let finish) = outcome.contentEvents.last else {
                    Issue.record("no Finish last: \(outcome.contentEvents.suffix(1))")
                    return
                }
                #expect(finish.reason == "error")
                return
            }
            #expect(outcome.status.code != .ok, "\(outcome.status)")
            #expect(outcome.status.message.contains("provider '\(dialect.rawValue)'"), "\(outcome.status.message)")
            #expect(!outcome.contentEvents.contains { if case .finish = $0 { true } else { false } })
        }
    }

    @Test func multiByteCharactersSplitAcrossReadsArriveIntact() async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest("openai-chat", ["x-fake-tokens": "6", "x-fake-fault": "split-utf8"]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(outcome.text == "tok1é tok2😈 tok3é tok4😈 tok5é tok6😈 ")
        }
    }

    static let statuses: [(http: Int, code: GRPCStatus.Code, says: String)] = [
        (400, .invalidArgument, "HTTP 400"),
        (401, .unauthenticated, "configuration fault"),
        (403, .permissionDenied, "configuration fault"),
        (404, .notFound, "check the model name"),
        (429, .resourceExhausted, "HTTP 429"),
        (500, .unavailable, "HTTP 500"),
        (503, .unavailable, "HTTP 503"),
        (504, .deadlineExceeded, "HTTP 504"),
    ]

    @Test(arguments: statuses)
    func upstreamHTTPErrorIsATrailersOnlyStatusWithTheProvidersMessage(http: Int, code: GRPCStatus.Code, says: String) async throws {
        try await withRelay { client, _ in
            for dialect in [UpstreamDialectKind.openAIChat, .anthropic, .gemini] {
                let outcome = await collect(client, fakeRequest(dialect.rawValue, ["x-fake-fault": "status:\(http)"]))
                #expect(outcome.frames.isEmpty, "\(dialect) \(http): no frame before a failure before the first token")
                #expect(outcome.status.code == code, "\(dialect) \(http): \(outcome.status)")
                #expect(outcome.status.message.contains("provider '\(dialect.rawValue)' answered HTTP \(http): "), "\(outcome.status.message)")
                #expect(outcome.status.message.contains(says), "\(outcome.status.message)")
            }
        }
    }

    /// A provider's error body is read for its message, up to 64 KiB: a 50 MB one is not
    /// read to its end (the relay closes the connection) and the status still arrives.
    @Test func longErrorBodyIsReadOnlyForItsMessageAndTheStatusArrives() async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat)])
            try await withServerAndClient(relay: relay) { _, client in
                let outcome = await collect(
                    client,
                    fakeRequest(
                        "openai-chat",
                        ["x-fake-fault": "status:503,error-body-bytes:50000000", "x-fake-request-id": "long-error"]))
                #expect(outcome.status.code == .unavailable, "\(outcome.status)")
                #expect(outcome.status.message.contains("answered HTTP 503"), "\(outcome.status.message)")
                let entry = try await fake.request("long-error")
                #expect(entry["disconnected"] as? Bool == true, "the relay read a 50 MB error body to its end: \(entry)")
            }
        }
    }

    @Test func slowFirstTokenSendsHeadersStreamStartAndHeartbeatsFirst() async throws {
        let timeouts = UpstreamTimeouts(firstHeartbeat: .milliseconds(50), heartbeatInterval: .milliseconds(100))
        try await withRelay(timeouts: timeouts) { client, _ in
            // The provider holds its response head for a minute; the client must get the
            // response headers, StreamStart and heartbeats meanwhile. Waits on the frames
            // themselves, then cancels (however loaded the machine, no first token can
            // arrive within the test).
            let request = fakeRequest("anthropic", ["x-fake-tokens": "3", "x-fake-fault": "slow-headers:60000"])
            let frames = try await withTimeout(30, "StreamStart and two heartbeats") {
                var frames: [TokenFrame] = []
                for try await frame in client.generate(request) {
                    frames.append(frame)
                    if frames.filter({ $0.event == .heartbeat }).count == 2 { break }
                }
                return frames
            }
            guard case .start = frames.first?.event else {
                Issue.record("StreamStart must come first: \(frames)")
                return
            }
            #expect(frames.dropFirst().allSatisfy { $0.event == .heartbeat }, "\(frames)")
            #expect(frames.count == 3)
            #expect(frames.map(\.seq) == [1, 2, 3])
        }
    }
}
