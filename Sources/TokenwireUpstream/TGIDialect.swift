public import TokenwireCore

/// Hugging Face Text Generation Inference's native `/generate_stream`: one SSE event per
/// token, `data:{"index":..,"token":{"id","text","logprob","special"},"generated_text":..,"details":..}`.
/// (TGI's `/v1/chat/completions` speaks `OpenAIChatDialect`.)
///
/// - `token.text` → `.text`, unless the token is `special` (`</s>`, `<|eot_id|>`, ...).
/// - The event whose `details` is not null is the terminator: `finish_reason`
///   `eos_token`, `stop_sequence` → `stop`, `length` → `length`; usage from
///   `details.input_length` (when the server sends it) and `details.generated_tokens`.
/// - `{"error": "...", "error_type": "..."}` → thrown, code mapped from `error_type`
///   (`overloaded`, `incomplete_generation` → UNAVAILABLE, `validation` →
///   INVALID_ARGUMENT, `generation` → INTERNAL).
/// - Keep-alive comments are the SSE parser's business; `[DONE]` is ignored.
public struct TGIDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "tgi"
    public static let framing = UpstreamFraming.serverSentEvents

    public private(set) var isComplete = false
    var failure: TokenwireError?

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        try consumeKeepingFailure(event)
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        try finishKeepingFailure(tail: tail)
    }

    static let terminatorName = "final event with details"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        guard let response = try? DialectSupport.decode(StreamResponse.self, from: tail, dialect: Self.name) else { return false }
        return response.details != nil || response.error != nil
    }

    mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if event.data.isEmpty || DialectSupport.isDoneSentinel(event.data) { return [] }
        let response = try DialectSupport.decode(StreamResponse.self, from: event, dialect: Self.name)
        if let error = response.error {
            throw ProviderErrorMapping.error(message: error, identifiers: [response.error_type], dialect: Self.name)
        }
        var events: [TokenEvent] = []
        if let token = response.token, token.special != true, let text = token.text, !text.isEmpty {
            events.append(.text(text))
        }
        if let details = response.details {
            isComplete = true
            let reason = details.finish_reason == "length" ? "length" : "stop"
            let usage = Usage(input: details.input_length, output: details.generated_tokens)
            events.append(.finish(Finish(reason: reason, usage: usage)))
        }
        return events
    }
}

// Wire shapes: property names mirror the JSON keys.
extension TGIDialect {
    private struct StreamResponse: Decodable {
        var token: Token?
        var details: Details?
        var error: String?
        var error_type: String?
    }

    private struct Token: Decodable {
        var text: String?
        var special: Bool?
    }

    private struct Details: Decodable {
        var finish_reason: String?
        var generated_tokens: TokenCount?
        var input_length: TokenCount?
    }
}
