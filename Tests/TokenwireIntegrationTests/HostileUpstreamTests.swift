import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireUpstream

/// Upstreams that send what no good provider would: NULs, lines and events without end,
/// compressed bodies, cut bodies. The relay holds no more than `max_event_bytes`, never
/// sends a frame a client cannot take, keeps every byte of text, and says what happened.
@Suite("Hostile upstreams: bounded memory, whole text, clear answers")
struct HostileUpstreamTests {
    /// `RelayFaultTests.withRelay` with every provider's `maxEventBytes` set.
    func withRelay(
        maxEventBytes: Int = UpstreamProviderConfiguration.defaultMaxEventBytes,
        _ body: @escaping @Sendable (TokenwireClient, FakeProvider) async throws -> Void
    ) async throws {
        try await RelayFaultTests().withRelay(configure: { $0.maxEventBytes = maxEventBytes }, body)
    }

    @Test(arguments: UpstreamDialectKind.allCases)
    func tokensWithANULReachTheClientWhole(dialect: UpstreamDialectKind) async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest(dialect.rawValue, ["x-fake-tokens": "3", "x-fake-fault": "nul-token"]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(outcome.text == "tok1\0x tok2\0x tok3\0x ")
        }
    }

    @Test func promptWithANULReachesTheProviderWhole() async throws {
        try await withRelay { client, fake in
            var request = fakeRequest("anthropic", ["x-fake-tokens": "2", "x-fake-request-id": "nul-prompt"])
            request.messages = [ChatMessage(role: "user", content: "before\0after")]
            let outcome = await collect(client, request)
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            let entry = try await fake.request("nul-prompt")
            #expect(entry["body_has_nul_escape"] as? Bool == true)
            #expect((entry["body"] as? String)?.contains(#"before\u0000after"#) == true)
        }
    }

    @Test func forwardedMetadataWithANewlineIsRefusedWithInvalidArgument() async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest("openai-chat", ["x-fake-tokens": "2", "x-fake-note": "a\r\nb"]))
            #expect(outcome.status.code == .invalidArgument, "\(outcome.status)")
            #expect(outcome.status.message.contains("'x-fake-note'"))
            #expect(outcome.status.message.contains("U+000D"))
        }
    }

    @Test(arguments: ["huge-line:100000000", "many-data-lines:100000000"])
    func lineOrEventWithoutEndPastMaxEventBytesEndsResourceExhausted(fault: String) async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest("openai-chat", ["x-fake-fault": fault]))
            #expect(outcome.status.code == .resourceExhausted, "\(outcome.status)")
            #expect(outcome.status.message.contains("provider 'openai-chat' sent an unfinished line or event of more than"))
            #expect(outcome.status.message.contains("max_event_bytes (4194304)"))
        }
    }

    @Test func eventLargerThanMaxEventBytesEndsResourceExhaustedAfterTheTokensBeforeIt() async throws {
        try await withRelay(maxEventBytes: 1 << 20) { client, _ in
            let outcome = await collect(client, fakeRequest("ollama", ["x-fake-tokens": "3", "x-fake-fault": "huge-event:2000000"]))
            #expect(outcome.status.code == .resourceExhausted, "\(outcome.status)")
            #expect(outcome.status.message.contains("max_event_bytes (1048576)"))
            #expect(outcome.text.isEmpty)
        }
    }

    @Test(arguments: UpstreamDialectKind.allCases)
    func eventLongerThanAFrameArrivesAsSeveralFramesUnderTheClientsLimit(dialect: UpstreamDialectKind) async throws {
        // 6 MB of text in one event: over the client's 4 MiB receive limit as one frame.
        try await withRelay(maxEventBytes: 8 << 20) { client, _ in
            let outcome = await collect(
                client, fakeRequest(dialect.rawValue, ["x-fake-tokens": "3", "x-fake-fault": "huge-event:6000000"]))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(outcome.text == String(repeating: "x", count: 6_000_000) + "tok2 tok3 ")
            let textFrames = outcome.events.compactMap { event -> Int? in
                if case .text(let text) = event { return text.utf8.count }
                return nil
            }
            #expect(textFrames.allSatisfy { $0 <= TokenEvent.maxFrameTextBytes })
            #expect(textFrames.count >= 8)  // 6 pieces of the big token, then tok2 and tok3
        }
    }

    @Test func gzipEncodedBodyEndsUnavailableSayingSo() async throws {
        try await withRelay { client, _ in
            let outcome = await collect(client, fakeRequest("openai-chat", ["x-fake-tokens": "3", "x-fake-fault": "gzip"]))
            #expect(outcome.status.code == .unavailable, "\(outcome.status)")
            #expect(outcome.status.message.contains("provider 'openai-chat' sent a 'gzip'-encoded body"))
            #expect(outcome.text.isEmpty)
        }
    }

    @Test func bodyCutInTheMiddleOfALineSaysHowManyBytesArrived() async throws {
        try await withRelay { client, _ in
            let outcome = await collect(
                client, fakeRequest("openai-chat", ["x-fake-tokens": "3", "x-fake-fault": "cut-mid-line-after-bytes:300000"]))
            #expect(outcome.status.code == .unavailable, "\(outcome.status)")
            #expect(outcome.status.message.contains("300000 bytes (1 events)"), "\(outcome.status.message)")
        }
    }
}
