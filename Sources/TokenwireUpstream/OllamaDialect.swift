public import TokenwireCore

/// Ollama's native streaming API (`/api/chat`, and `/api/generate`): NDJSON, one JSON
/// object per line, handed over as `SSEEvent(data: line)`. (Ollama's `/v1` endpoints speak
/// `OpenAIChatDialect`.)
///
/// - `message.content` (`/api/chat`) or `response` (`/api/generate`) → `.text`;
///   `message.thinking` or `thinking` → `.reasoning`.
/// - `message.tool_calls[]`: complete calls with `arguments` as a JSON object → one
///   `.toolCall` each, indexed 0, 1, 2... across the stream, with the call's `id` if the
///   server sent one (newer builds do) and otherwise the generated id `call_<index>`.
/// - The line with `"done": true` is the terminator: `done_reason` `stop` → `stop`
///   (`tool_calls` if the stream made calls), `length` → `length`, others → `stop`; usage
///   from `prompt_eval_count` and `eval_count`.
/// - `{"error": "..."}` → thrown with Ollama's message. Ollama sends only a string, so the
///   code comes from the message itself when it names a known cause ("not found", "rate
///   limit", ...; see `ProviderErrorMapping`), and is INTERNAL otherwise.
public struct OllamaDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "ollama"
    public static let framing = UpstreamFraming.newlineDelimitedJSON

    public private(set) var isComplete = false
    private var toolCallCount: UInt32 = 0
    var failure: TokenwireError?

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        try consumeKeepingFailure(event)
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        try finishKeepingFailure(tail: tail)
    }

    static let terminatorName = "\"done\":true line"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        guard let line = try? DialectSupport.decode(Line.self, from: tail, dialect: Self.name) else { return false }
        return line.done == true || line.error != nil
    }

    mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if event.data.isEmpty { return [] }
        let line = try DialectSupport.decode(Line.self, from: event, dialect: Self.name)
        if let error = line.error {
            let message = error.value?.message ?? "the ollama upstream reported an error"
            throw TokenwireError(
                code: ProviderErrorMapping.code(forIdentifiers: [error.value?.type ?? "", message]),
                message: message
            )
        }
        var events: [TokenEvent] = []
        if let thinking = line.message?.thinking ?? line.thinking, !thinking.isEmpty {
            events.append(.reasoning(thinking))
        }
        if let text = line.message?.content ?? line.response, !text.isEmpty {
            events.append(.text(text))
        }
        for call in line.message?.tool_calls ?? [] {
            let index = toolCallCount
            toolCallCount += 1
            let delta = ToolCallDelta(
                index: index,
                id: call.id ?? "call_\(index)",
                name: call.function?.name ?? "",
                arguments: call.function?.arguments?.text ?? "{}"
            )
            events.append(.toolCall(delta))
        }
        if line.done == true {
            isComplete = true
            let reason =
                switch line.done_reason {
                case "length": "length"
                default: toolCallCount > 0 ? "tool_calls" : "stop"
                }
            let usage = Usage(input: line.prompt_eval_count, output: line.eval_count)
            events.append(.finish(Finish(reason: reason, usage: usage)))
        }
        return events
    }
}

// Wire shapes: property names mirror the JSON keys.
extension OllamaDialect {
    private struct Line: Decodable {
        var message: Message?
        var response: String?
        var thinking: String?
        var done: Bool?
        var done_reason: String?
        var prompt_eval_count: TokenCount?
        var eval_count: TokenCount?
        var error: Lenient<WireError>?
    }

    private struct Message: Decodable {
        var content: String?
        var thinking: String?
        var tool_calls: [ToolCall]?
    }

    private struct ToolCall: Decodable {
        var id: String?
        var function: Function?

        struct Function: Decodable {
            var name: String?
            var arguments: JSONText?
        }
    }

    /// Ollama's errors are strings; its OpenAI-style layer uses `{message, type}` objects.
    private struct WireError: Decodable, Sendable {
        var message: String?
        var type: String?

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                message = text
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            message = try container.decodeIfPresent(String.self, forKey: .message)
            type = try container.decodeIfPresent(String.self, forKey: .type)
        }

        private enum CodingKeys: String, CodingKey { case message, type }
    }
}
