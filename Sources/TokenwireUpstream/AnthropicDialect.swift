public import TokenwireCore

/// Anthropic Messages streaming (`event: message_start` ... `message_stop`), dispatched on
/// the JSON `type`.
///
/// - `content_block_start` of a `tool_use` block → a `.toolCall` with the block's `id` and
///   `name`; the tool-call index is the content block's `index`. `text` and `thinking`
///   blocks start empty in practice; any text they do carry is emitted.
/// - `content_block_delta`: `text_delta` → `.text`, `input_json_delta` → an arguments
///   fragment, `thinking_delta` → `.reasoning`; `signature_delta` and `citations_delta`
///   are not relayed (the frame model has no place for them).
/// - Usage: `input_tokens` from `message_start`; `output_tokens` from `message_start`, then
///   replaced by each `message_delta`'s count, which is cumulative. Cache counters are not
///   added to the input count.
/// - `message_delta.delta.stop_reason`: `end_turn`, `stop_sequence`, `pause_turn` → `stop`;
///   `max_tokens`, `model_context_window_exceeded` → `length`; `tool_use` → `tool_calls`;
///   `refusal` → `content_filter`.
/// - `message_stop` is the terminator. `ping` and unknown types are ignored.
/// - `error` events (`overloaded_error`, `rate_limit_error`, `api_error`, ...) → thrown,
///   code mapped from the error's `type`.
public struct AnthropicDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "anthropic"
    public static let framing = UpstreamFraming.serverSentEvents

    public private(set) var isComplete = false
    private var stopReason: String?
    private var inputTokens: TokenCount?
    private var outputTokens: TokenCount?
    var failure: TokenwireError?

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        try consumeKeepingFailure(event)
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        try finishKeepingFailure(tail: tail)
    }

    static let terminatorName = "message_stop"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        let type = (try? DialectSupport.decode(Event.self, from: tail, dialect: Self.name))?.type
        return type == "message_stop" || type == "error"
    }

    mutating func handle(_ sse: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if sse.data.isEmpty { return [] }
        let event = try DialectSupport.decode(Event.self, from: sse, dialect: Self.name)
        switch event.type ?? sse.event ?? "" {
        case "message_start":
            let usage = event.message?.usage
            inputTokens = usage?.input_tokens ?? inputTokens
            outputTokens = usage?.output_tokens ?? outputTokens
            return []
        case "content_block_start":
            return startBlock(event)
        case "content_block_delta":
            return delta(event)
        case "message_delta":
            if let reason = event.delta?.stop_reason { stopReason = reason }
            inputTokens = event.usage?.input_tokens ?? inputTokens
            outputTokens = event.usage?.output_tokens ?? outputTokens
            return []
        case "message_stop":
            isComplete = true
            let reason = stopReason.map(Self.normalizedReason) ?? "stop"
            return [.finish(Finish(reason: reason, usage: Usage(input: inputTokens, output: outputTokens)))]
        case "error":
            throw ProviderErrorMapping.error(
                message: event.error?.message,
                identifiers: [event.error?.type],
                dialect: Self.name
            )
        default:
            return []
        }
    }

    private func startBlock(_ event: Event) -> [TokenEvent] {
        guard let block = event.content_block else { return [] }
        switch block.type {
        case "tool_use":
            let call = ToolCallDelta(
                index: UInt32(clamping: event.index ?? 0),
                id: block.id ?? "",
                name: block.name ?? ""
            )
            return [.toolCall(call)]
        case "text":
            return block.text.map { $0.isEmpty ? [] : [.text($0)] } ?? []
        case "thinking":
            return block.thinking.map { $0.isEmpty ? [] : [.reasoning($0)] } ?? []
        default:
            return []
        }
    }

    private func delta(_ event: Event) -> [TokenEvent] {
        guard let delta = event.delta else { return [] }
        switch delta.type {
        case "text_delta":
            return delta.text.map { $0.isEmpty ? [] : [.text($0)] } ?? []
        case "thinking_delta":
            return delta.thinking.map { $0.isEmpty ? [] : [.reasoning($0)] } ?? []
        case "input_json_delta":
            guard let json = delta.partial_json, !json.isEmpty else { return [] }
            return [.toolCall(ToolCallDelta(index: UInt32(clamping: event.index ?? 0), arguments: json))]
        default:
            return []
        }
    }

    static func normalizedReason(_ reason: String) -> String {
        switch reason {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        default: "stop"
        }
    }
}

// Wire shapes: property names mirror the JSON keys.
extension AnthropicDialect {
    private struct Event: Decodable {
        var type: String?
        var index: Int?
        var message: Message?
        var content_block: ContentBlock?
        var delta: Delta?
        var usage: WireUsage?
        var error: WireError?
    }

    private struct Message: Decodable {
        var usage: WireUsage?
    }

    private struct ContentBlock: Decodable {
        var type: String?
        var id: String?
        var name: String?
        var text: String?
        var thinking: String?
    }

    private struct Delta: Decodable {
        var type: String?
        var text: String?
        var partial_json: String?
        var thinking: String?
        var stop_reason: String?
    }

    private struct WireUsage: Decodable {
        var input_tokens: TokenCount?
        var output_tokens: TokenCount?
    }

    private struct WireError: Decodable {
        var type: String?
        var message: String?
    }
}
