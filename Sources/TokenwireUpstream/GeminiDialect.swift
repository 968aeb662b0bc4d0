public import TokenwireCore

/// Google Gemini `streamGenerateContent?alt=sse`: every event is a whole
/// `GenerateContentResponse`; no event names, no `[DONE]`.
///
/// - `candidates[0].content.parts[]`: `text` → `.text`, or `.reasoning` when the part has
///   `"thought": true`; `functionCall {name, args}` → one complete `.toolCall` (Gemini
///   sends whole calls), indexed 0, 1, 2... in order of arrival, with the call's `id` if
///   the API sent one and otherwise the generated id `call_<index>`, and `args`
///   serialised to JSON text (keys sorted). Only candidate 0 is relayed.
/// - `finishReason`: `STOP` → `stop` (`tool_calls` if the response made calls),
///   `MAX_TOKENS` → `length`, `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`,
///   `SPII`, `IMAGE_SAFETY` → `content_filter`, `MALFORMED_FUNCTION_CALL`,
///   `UNEXPECTED_TOOL_CALL`, `OTHER` → `error`, anything else → `stop`.
///   A prompt blocked outright (`promptFeedback.blockReason`, no candidates) finishes
///   `content_filter`.
/// - `usageMetadata` repeats with running values on every chunk; the last one wins. Input
///   is `promptTokenCount`; output is `candidatesTokenCount + thoughtsTokenCount`, since
///   thinking tokens are generated (and billed) output, as in OpenAI's `completion_tokens`.
/// - There is no terminator event: the stream is complete once a chunk carried a
///   `finishReason`, and the `.finish` is emitted by `finish(tail:)` at the end of the
///   body, so that a later chunk's usage is still counted.
/// - An `error` object in a chunk → thrown, code mapped from `status`, then `code`.
public struct GeminiDialect: UpstreamDialect {
    public static let name = "gemini"
    public static let framing = UpstreamFraming.serverSentEvents

    public private(set) var isComplete = false
    private var finishReason: String?
    private var usage: Usage?
    private var toolCallCount: UInt32 = 0
    private var finishEmitted = false
    private var failure: TokenwireError?

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if let failure { throw failure }
        guard !finishEmitted else { return [] }
        do throws(TokenwireError) {
            return try handle(event)
        } catch {
            failure = error
            throw error
        }
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        if let failure { throw failure }
        var events: [TokenEvent] = []
        if let tail, !isComplete,
            let chunk = try? DialectSupport.decode(Chunk.self, from: tail, dialect: Self.name),
            chunk.error != nil || chunk.candidates?.first?.finishReason != nil
        {
            events = try consume(tail)
        }
        guard isComplete else {
            failure = DialectSupport.endedEarly(terminator: "chunk with a finishReason")
            throw failure!
        }
        if !finishEmitted {
            finishEmitted = true
            var reason = finishReason ?? "stop"
            if reason == "stop", toolCallCount > 0 { reason = "tool_calls" }
            events.append(.finish(Finish(reason: reason, usage: usage)))
        }
        return events
    }

    private mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if event.data.isEmpty { return [] }
        let chunk = try DialectSupport.decode(Chunk.self, from: event, dialect: Self.name)
        if let error = chunk.error {
            throw ProviderErrorMapping.error(
                message: error.message,
                identifiers: [error.status],
                httpStatus: error.code?.integer,
                dialect: Self.name
            )
        }
        if let metadata = chunk.usageMetadata {
            let output: TokenCount? =
                switch (metadata.candidatesTokenCount, metadata.thoughtsTokenCount) {
                case (nil, nil): nil
                case let (candidates, thoughts):
                    TokenCount(value: (candidates?.value ?? 0) &+ (thoughts?.value ?? 0))
                }
            usage = Usage(input: metadata.promptTokenCount, output: output) ?? usage
        }
        if chunk.candidates?.isEmpty ?? true, chunk.promptFeedback?.blockReason != nil {
            isComplete = true
            finishReason = "content_filter"
            return []
        }
        guard let candidate = chunk.candidates?.first(where: { ($0.index ?? 0) == 0 }) else { return [] }
        var events: [TokenEvent] = []
        for part in candidate.content?.parts ?? [] {
            if let call = part.functionCall {
                let index = toolCallCount
                toolCallCount += 1
                let delta = ToolCallDelta(
                    index: index,
                    id: call.id ?? "call_\(index)",
                    name: call.name ?? "",
                    arguments: call.args?.jsonText ?? "{}"
                )
                events.append(.toolCall(delta))
            } else if let text = part.text, !text.isEmpty {
                events.append(part.thought == true ? .reasoning(text) : .text(text))
            }
        }
        if let reason = candidate.finishReason {
            isComplete = true
            finishReason = Self.normalizedReason(reason)
        }
        return events
    }

    static func normalizedReason(_ reason: String) -> String {
        switch reason {
        case "MAX_TOKENS": "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": "content_filter"
        case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "OTHER": "error"
        default: "stop"
        }
    }
}

// Wire shapes: property names mirror the JSON keys.
extension GeminiDialect {
    private struct Chunk: Decodable {
        var candidates: [Candidate]?
        var usageMetadata: UsageMetadata?
        var promptFeedback: PromptFeedback?
        var error: WireError?
    }

    private struct Candidate: Decodable {
        var index: Int?
        var content: Content?
        var finishReason: String?
    }

    private struct Content: Decodable {
        var parts: [Part]?
    }

    private struct Part: Decodable {
        var text: String?
        var thought: Bool?
        var functionCall: FunctionCall?
    }

    private struct FunctionCall: Decodable {
        var id: String?
        var name: String?
        var args: JSONValue?
    }

    private struct UsageMetadata: Decodable {
        var promptTokenCount: TokenCount?
        var candidatesTokenCount: TokenCount?
        var thoughtsTokenCount: TokenCount?
    }

    private struct PromptFeedback: Decodable {
        var blockReason: String?
    }

    private struct WireError: Decodable {
        var code: LossyString?
        var message: String?
        var status: String?
    }
}
