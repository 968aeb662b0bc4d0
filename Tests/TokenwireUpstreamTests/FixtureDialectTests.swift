import Testing
import TokenwireCore
import TokenwireUpstream

/// Every fixture through its dialect: the frame events do not depend on how the body was read.
@Suite("Fixtures through their dialects")
struct FixtureDialectTests {
    static let fixtures: [(name: String, kind: UpstreamDialectKind)] = [
        ("anthropic-error-midstream.sse", .anthropic),
        ("anthropic-text-ping-no-final-blank-line.sse", .anthropic),
        ("anthropic-thinking.sse", .anthropic),
        ("anthropic-tool-use.sse", .anthropic),
        ("cohere-v2-parallel-toolcalls.reframed.sse", .cohere),
        ("gemini-thought-functioncall-crlf.sse", .gemini),
        ("mistral-parallel-toolcalls.sse", .openAIChat),
        ("openai-chat-error-midstream.sse", .openAIChat),
        ("openai-chat-length.sse", .openAIChat),
        ("openai-chat-n3-choices.sse", .openAIChat),
        ("openai-chat-parallel-toolcalls.sse", .openAIChat),
        ("openai-chat-refusal.sse", .openAIChat),
        ("openai-chat-text-usage.sse", .openAIChat),
        ("openai-responses-error-failed.sse", .openAIResponses),
        ("openai-responses-text.sse", .openAIResponses),
        ("openai-responses-toolcall.sse", .openAIResponses),
        ("tgi-chat-length-usage.reframed.sse", .openAIChat),
        ("ollama-chat-text.ndjson", .ollama),
        ("ollama-generate-error-midstream.ndjson", .ollama),
    ]

    private static func run(_ kind: UpstreamDialectKind, reads: [ArraySlice<UInt8>]) -> DialectRun {
        switch kind {
        case .openAIChat: DialectRun.run(OpenAIChatDialect.self, reads: reads)
        case .openAIResponses: DialectRun.run(OpenAIResponsesDialect.self, reads: reads)
        case .anthropic: DialectRun.run(AnthropicDialect.self, reads: reads)
        case .gemini: DialectRun.run(GeminiDialect.self, reads: reads)
        case .cohere: DialectRun.run(CohereDialect.self, reads: reads)
        case .ollama: DialectRun.run(OllamaDialect.self, reads: reads)
        case .tgi: DialectRun.run(TGIDialect.self, reads: reads)
        }
    }

    @Test(arguments: fixtures)
    func fixtureGivesTheSameFramesHoweverItIsRead(name: String, kind: UpstreamDialectKind) throws {
        let body = try Fixture.bytes(name)
        let whole = Self.run(kind, reads: [body[...]])
        #expect(!whole.events.isEmpty || whole.error != nil)
        #expect(whole.finishes.count <= 1)
        for reads in [Reads.byteByByte(body), Reads.chunks(body, size: 5), Reads.split(body, at: body.count / 2)] {
            let other = Self.run(kind, reads: reads)
            #expect(other.events == whole.events)
            #expect(other.error == whole.error)
        }
    }

    @Test func everyFixtureIsCoveredByADialectOrParserTest() {
        let covered = Set(Self.fixtures.map(\.name)).union(["wpt-data-before-final-empty-line.sse"])
        #expect(covered == Set(Fixture.sseNames + Fixture.ndjsonNames))
    }

    @Test func kindsNameTheirDialects() {
        for kind in UpstreamDialectKind.allCases {
            #expect(kind.dialectType.name == kind.rawValue)
            #expect(!kind.makeDialect().isComplete)
        }
        #expect(UpstreamDialectKind.ollama.dialectType.framing == .newlineDelimitedJSON)
        #expect(UpstreamDialectKind(rawValue: "openai-chat") == .openAIChat)
    }
}
