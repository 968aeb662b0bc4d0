public import TokenwireCore

/// Cohere v2 chat streaming (`/v2/chat`), dispatched on the JSON `type` (whether the live
/// API also sends `event:` lines is not relied on).
///
/// - `content-delta`: `delta.message.content.text` → `.text`, `.thinking` → `.reasoning`.
/// - `tool-plan-delta` (the model's plan before calling tools) → `.reasoning`.
/// - `tool-call-start` → a `.toolCall` with the call's `id` and `name` (Cohere's
///   `tool_calls` is one object here, not an array); `tool-call-delta` → an arguments
///   fragment. The tool-call index is the event's `index`.
/// - `message-end` is the terminator: `finish_reason` `COMPLETE`, `STOP_SEQUENCE` → `stop`,
///   `MAX_TOKENS` → `length`, `TOOL_CALL` → `tool_calls`, `ERROR`, `TIMEOUT` → `error`.
///   Usage is `usage.tokens` (every token the model read and wrote, as other providers
///   count them), falling back to `usage.billed_units` when `tokens` is absent. The two
///   differ a lot: the billed input excludes the system preamble and tool definitions.
/// - A `[DONE]` or empty event is ignored (the official SDK tolerates both).
public struct CohereDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "cohere"
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

    static let terminatorName = "message-end"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        (try? DialectSupport.decode(Event.self, from: tail, dialect: Self.name))?.type == "message-end"
    }

    mutating func handle(_ sse: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if sse.data.isEmpty || DialectSupport.isDoneSentinel(sse.data) { return [] }
        let event = try DialectSupport.decode(Event.self, from: sse, dialect: Self.name)
        let message = event.delta?.message
        let index = UInt32(clamping: event.index ?? 0)
        switch event.type ?? sse.event ?? "" {
        case "content-delta":
            let content = message?.content?.value
            var events: [TokenEvent] = []
            if let thinking = content?.thinking, !thinking.isEmpty { events.append(.reasoning(thinking)) }
            if let text = content?.text, !text.isEmpty { events.append(.text(text)) }
            return events
        case "tool-plan-delta":
            return message?.tool_plan.map { $0.isEmpty ? [] : [.reasoning($0)] } ?? []
        case "tool-call-start":
            let call = message?.tool_calls?.value
            let delta = ToolCallDelta(
                index: index,
                id: call?.id ?? "",
                name: call?.function?.name ?? "",
                arguments: call?.function?.arguments?.text ?? ""
            )
            return [.toolCall(delta)]
        case "tool-call-delta":
            guard let arguments = message?.tool_calls?.value?.function?.arguments?.text, !arguments.isEmpty else {
                return []
            }
            return [.toolCall(ToolCallDelta(index: index, arguments: arguments))]
        case "message-end":
            isComplete = true
            let reason = event.delta?.finish_reason.map(Self.normalizedReason) ?? "stop"
            let counts = event.delta?.usage?.tokens ?? event.delta?.usage?.billed_units
            let usage = counts.flatMap { Usage(input: $0.input_tokens, output: $0.output_tokens) }
            return [.finish(Finish(reason: reason, usage: usage))]
        default:
            return []
        }
    }

    static func normalizedReason(_ reason: String) -> String {
        switch reason {
        case "MAX_TOKENS": "length"
        case "TOOL_CALL": "tool_calls"
        case "ERROR", "TIMEOUT", "ERROR_TOXIC", "ERROR_LIMIT": "error"
        default: "stop"
        }
    }
}

// Wire shapes: property names mirror the JSON keys.
extension CohereDialect {
    private struct Event: Decodable {
        var type: String?
        var index: Int?
        var delta: Delta?
    }

    private struct Delta: Decodable {
        var message: Message?
        var finish_reason: String?
        var usage: WireUsage?
    }

    /// `content` and `tool_calls` are arrays in `message-start` and objects afterwards.
    private struct Message: Decodable {
        var content: Lenient<Content>?
        var tool_plan: String?
        var tool_calls: Lenient<ToolCall>?
    }

    private struct Content: Decodable, Sendable {
        var text: String?
        var thinking: String?
    }

    private struct ToolCall: Decodable, Sendable {
        var id: String?
        var function: Function?

        struct Function: Decodable, Sendable {
            var name: String?
            var arguments: JSONText?
        }
    }

    private struct WireUsage: Decodable {
        var billed_units: Counts?
        var tokens: Counts?
    }

    private struct Counts: Decodable {
        var input_tokens: TokenCount?
        var output_tokens: TokenCount?
    }
}
