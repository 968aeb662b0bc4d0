public import TokenwireCore

/// OpenAI Chat Completions streaming (`chat.completion.chunk`), and the many servers that
/// copy it: Mistral, vLLM, TGI's `/v1/chat/completions`, Ollama's `/v1`, OpenRouter, ...
///
/// - `delta.content` → `.text`; `delta.refusal` → `.text` too (a refusal is the answer);
///   Mistral's typed-array `content` (`[{"type":"text"|"thinking",...}]`) is understood.
/// - `delta.reasoning_content` (vLLM, DeepSeek) and `delta.reasoning` (Ollama, newer vLLM)
///   → `.reasoning`.
/// - `delta.tool_calls[]` → one `.toolCall` per fragment, with the provider's `index` (or
///   the fragment's position when a server omits it) and whatever `id`, `name` and
///   `arguments` the fragment carries. Servers that repeat the id on every fragment (TGI)
///   have it forwarded as is. Arguments sent as a JSON object are re-serialised to text.
/// - `finish_reason` → the finish reason (`function_call` → `tool_calls`; TGI's
///   `eos_token` and `stop_sequence` → `stop`; unknown values → `stop`). A stream that ends
///   without any finish reason finishes `tool_calls` if it carried tool calls, else `stop`.
/// - `usage` → the finish's usage, from the `choices: []` chunk that
///   `stream_options.include_usage` adds, or from any chunk that carries one (Mistral
///   puts it on the last choice chunk; vLLM's continuous usage repeats it); the last wins.
/// - `data: [DONE]` is the terminator; the `.finish` is emitted there, because usage
///   arrives after the finish reason.
/// - `{"error": {...}}` (or vLLM's older `{"object": "error", ...}`) → thrown, code mapped
///   from `code`/`type`.
///
/// With `n > 1`, choices interleave; only choice 0 is relayed (the frame model has one
/// answer per stream), and the usage covers all choices, as the provider reports it.
public struct OpenAIChatDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "openai-chat"
    public static let framing = UpstreamFraming.serverSentEvents

    public private(set) var isComplete = false
    private var finishReason: String?
    private var usage: Usage?
    private var sawToolCall = false
    private var finishEmitted = false
    var failure: TokenwireError?

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        try consumeKeepingFailure(event)
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        var events = try finishKeepingFailure(tail: tail)
        if !finishEmitted {
            finishEmitted = true
            events.append(finishEvent)
        }
        return events
    }

    private var finishEvent: TokenEvent {
        .finish(Finish(reason: finishReason ?? (sawToolCall ? "tool_calls" : "stop"), usage: usage))
    }

    mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if DialectSupport.isDoneSentinel(event.data) {
            isComplete = true
            finishEmitted = true
            return [finishEvent]
        }
        if event.data.isEmpty { return [] }
        let chunk = try DialectSupport.read(from: event, dialect: Self.name, Chunk.init(reading:))
        if let error = chunk.providerError {
            throw ProviderErrorMapping.error(
                message: error.message,
                identifiers: [error.code?.value, error.type],
                httpStatus: error.code?.integer,
                dialect: Self.name
            )
        }
        if let chunkUsage = chunk.usage {
            usage = Usage(input: chunkUsage.prompt_tokens, output: chunkUsage.completion_tokens) ?? usage
        }
        var events: [TokenEvent] = []
        for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
            if let delta = choice.delta { append(delta, to: &events) }
            if let reason = choice.finish_reason { finishReason = Self.normalizedReason(reason) }
        }
        return events
    }

    private mutating func append(_ delta: Delta, to events: inout [TokenEvent]) {
        if let reasoning = delta.reasoning_content ?? delta.reasoning, !reasoning.isEmpty {
            events.append(.reasoning(reasoning))
        }
        for part in delta.content?.value?.parts ?? [] {
            switch part {
            case .text(let text) where !text.isEmpty: events.append(.text(text))
            case .reasoning(let text) where !text.isEmpty: events.append(.reasoning(text))
            default: break
            }
        }
        if let refusal = delta.refusal, !refusal.isEmpty {
            events.append(.text(refusal))
        }
        for (position, call) in (delta.tool_calls ?? []).enumerated() {
            let fragment = ToolCallDelta(
                index: UInt32(clamping: call.index ?? position),
                id: call.id ?? "",
                name: call.function?.name ?? "",
                arguments: call.function?.arguments?.text ?? ""
            )
            guard !(fragment.id.isEmpty && fragment.name.isEmpty && fragment.arguments.isEmpty) else { continue }
            sawToolCall = true
            events.append(.toolCall(fragment))
        }
    }

    /// `[DONE]`, or an error object: the only tails worth taking.
    static let terminatorName = "[DONE]"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        Self.isTerminalOrError(tail)
    }

    private static func isTerminalOrError(_ tail: SSEEvent) -> Bool {
        if DialectSupport.isDoneSentinel(tail.data) { return true }
        let chunk = try? DialectSupport.read(from: tail, dialect: name, Chunk.init(reading:))
        return chunk?.providerError != nil
    }

    static func normalizedReason(_ reason: String) -> String {
        switch reason {
        case "length", "max_tokens": "length"
        case "tool_calls", "function_call": "tool_calls"
        case "content_filter": "content_filter"
        case "error": "error"
        default: "stop"
        }
    }
}

// Wire shapes: property names mirror the JSON keys. Chunks are read with
// `Chunk.init(reading:)` (OpenAIChatDialect+ChunkReading.swift); the synthesized `Decodable`
// conformances are the reference that reader is tested against.
extension OpenAIChatDialect {
    struct Chunk: Decodable {
        var object: String?
        var choices: [Choice]?
        var usage: WireUsage?
        var error: WireError?
        // vLLM before 0.6 sent the error fields at the top level with `"object": "error"`.
        var message: String?
        var type: String?
        var code: LossyString?

        var providerError: WireError? {
            if let error { return error }
            guard object == "error" else { return nil }
            return WireError(message: message, type: type, code: code)
        }
    }

    struct Choice: Decodable {
        var index: Int?
        var delta: Delta?
        var finish_reason: String?
    }

    struct Delta: Decodable {
        var content: Lenient<Content>?
        var refusal: String?
        var reasoning_content: String?
        var reasoning: String?
        var tool_calls: [ToolCallFragment]?
    }

    struct ToolCallFragment: Decodable {
        var index: Int?
        var id: String?
        var function: Function?

        struct Function: Decodable {
            var name: String?
            var arguments: JSONText?
        }
    }

    struct WireUsage: Decodable {
        var prompt_tokens: TokenCount?
        var completion_tokens: TokenCount?
    }

    struct WireError: Decodable {
        var message: String?
        var type: String?
        var code: LossyString?
    }

    /// `content`: a string, or Mistral's array of typed chunks.
    struct Content: Decodable, Sendable {
        enum Part: Sendable { case text(String), reasoning(String) }
        var parts: [Part]

        init(text: String) {
            parts = [.text(text)]
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                parts = [.text(text)]
                return
            }
            parts = try container.decode([TypedChunk].self).flatMap(\.parts)
        }

        private struct TypedChunk: Decodable {
            var type: String?
            var text: String?
            var thinking: [TypedChunk]?

            var parts: [Part] {
                if type == "thinking" {
                    return (thinking ?? []).compactMap { $0.text }.map { .reasoning($0) }
                }
                return text.map { [.text($0)] } ?? []
            }
        }
    }
}
