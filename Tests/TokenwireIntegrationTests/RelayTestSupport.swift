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

    /// Every provider recording in the upstream tests' fixtures, with the dialect its name
    /// starts with (the WHATWG conformance input is not a provider stream).
    static let all: [(name: String, dialect: UpstreamDialectKind)] = {
        let directory = repositoryRoot.appendingPathComponent("Tests/TokenwireUpstreamTests/Fixtures")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            guard name.hasSuffix(".sse") || name.hasSuffix(".ndjson") else { return nil }
            return dialect(ofFixture: name).map { (name, $0) }
        }
    }()

    /// The dialect a fixture's file name names: `openai-chat-…`, `mistral-…` and
    /// `tgi-chat-…` are Chat Completions streams, and so on; nil for `wpt-…`.
    static func dialect(ofFixture name: String) -> UpstreamDialectKind? {
        let prefixes: [(String, UpstreamDialectKind)] = [
            ("openai-responses-", .openAIResponses), ("openai-chat-", .openAIChat), ("mistral-", .openAIChat),
            ("tgi-chat-", .openAIChat), ("anthropic-", .anthropic), ("gemini-", .gemini), ("cohere-", .cohere),
            ("ollama-", .ollama),
        ]
        return prefixes.first { name.hasPrefix($0.0) }?.1
    }

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
