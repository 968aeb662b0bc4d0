import Testing
import TokenwireClient
import TokenwireServer

@Suite struct SyntheticProviderTests {
    static func usage(_ frames: [TokenFrame]) -> Usage? {
        frames.last.flatMap { if case .finish(let finish) = $0.event { finish.usage } else { nil } }
    }

    @Test func pacedAndJSONReportThePromptsWordsAsInputTokensAndFloodKeepsTheBenchmarksZero() async throws {
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: " Tell me\tabout\nstreams ")]
        try await withServerAndClient(configure: { $0.pacedTokensPerSecond = 2000 }) { _, client in
            let paced = try await client.generate(GenerateRequest(model: "synthetic/paced", messages: messages, maxTokens: 2)).collect()
            #expect(Self.usage(paced) == Usage(inputTokens: 6, outputTokens: 2))
            let json = try await client.generate(GenerateRequest(model: "synthetic/json", messages: messages, maxTokens: 3)).collect()
            #expect(Self.usage(json) == Usage(inputTokens: 6, outputTokens: 3))
            let flood = try await client.generate(GenerateRequest(model: "synthetic/flood", messages: messages, maxTokens: 2)).collect()
            #expect(Self.usage(flood) == Usage(inputTokens: 0, outputTokens: 2))
        }
    }
}
