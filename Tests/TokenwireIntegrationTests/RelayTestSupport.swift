import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireUpstream

/// What a call delivered: every frame, then the status it ended with.
struct CallOutcome: Sendable {
    var frames: [TokenFrame] = []
    var status: GRPCStatus = GRPCStatus(code: .ok, message: "")

    var events: [TokenEvent] { frames.compactMap(\.event) }
    /// The frame events without StreamStart and heartbeats: what the provider produced.
    var contentEvents: [TokenEvent] {
        events.filter {
            if case .start = $0 { return false }
            return $0 != .heartbeat
        }
    }
    var text: String {
        events.reduce(into: "") { text, event in if case .text(let piece) = event { text += piece } }
    }
    var heartbeats: Int { events.filter { $0 == .heartbeat }.count }
}

/// Streams `request` to its end, keeping every frame and the final status.
func collect(_ client: TokenwireClient, _ request: GenerateRequest, deadline: Duration? = nil) async -> CallOutcome {
    var outcome = CallOutcome()
    do {
        for try await frame in client.generate(request, deadline: deadline) { outcome.frames.append(frame) }
    } catch let error as TokenwireError {
        outcome.status = error.status
    } catch {
        outcome.status = GRPCStatus(code: .unknown, message: "\(error)")
    }
    return outcome
}

/// A request for the fake provider: model `<provider>/m`, with `x-fake-*` headers as metadata.
func fakeRequest(_ provider: String, maxTokens: UInt32 = 0, _ fake: [String: String] = [:]) -> GenerateRequest {
    GenerateRequest(
        model: "\(provider)/m", messages: [ChatMessage(role: "user", content: "relay test")], maxTokens: maxTokens,
        metadata: fake)
}

/// What a recorded fixture must become, computed in-process by its dialect (whose own
/// tests pin it to the documented extraction): the events, and the error if it fails.
struct FixtureExpectation: Sendable {
    var name: String
    var dialect: UpstreamDialectKind
    var events: [TokenEvent]
    var error: TokenwireError?

    static let all: [(name: String, dialect: UpstreamDialectKind)] = [
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

    init(name: String, dialect: UpstreamDialectKind) throws {
        self.name = name
        self.dialect = dialect
        let url = repositoryRoot.appendingPathComponent("Tests/TokenwireUpstreamTests/Fixtures/\(name)")
        let bytes = [UInt8](try Data(contentsOf: url))
        var dialectState = dialect.makeDialect()
        var events: [TokenEvent] = []
        do {
            switch dialect.dialectType.framing {
            case .serverSentEvents:
                var parser = SSEParser()
                var raw: [SSEEvent] = []
                parser.parse(bytes) { raw.append($0) }
                for event in raw { events += try dialectState.consume(event) }
                events += try dialectState.finish(tail: parser.finish())
            case .newlineDelimitedJSON:
                var splitter = NDJSONSplitter()
                var lines: [String] = []
                splitter.parse(bytes) { lines.append($0) }
                for line in lines { events += try dialectState.consume(SSEEvent(data: line)) }
                events += try dialectState.finish(tail: splitter.finish().map { SSEEvent(data: $0) })
            }
        } catch {
            self.error = error
        }
        self.events = events
    }
}
