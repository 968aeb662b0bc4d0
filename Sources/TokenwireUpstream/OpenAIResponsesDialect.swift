public import TokenwireCore

/// OpenAI Responses API streaming (`event: response.*`), dispatched on the JSON `type`.
///
/// - `response.output_text.delta` and `response.refusal.delta` → `.text`.
/// - `response.reasoning_summary_text.delta`, `response.reasoning_text.delta` (any
///   `response.reasoning*` delta) → `.reasoning`.
/// - `response.output_item.added` with a `function_call` item → a `.toolCall` with the
///   call's `call_id` (what a tool result must reference; the item id only correlates
///   events) and `name`; then each `response.function_call_arguments.delta` → an arguments
///   fragment. The tool-call index is the item's `output_index`. If a call's arguments
///   arrive only in `response.function_call_arguments.done`, they are sent from there.
/// - `response.completed` / `response.incomplete` are the terminators: status `completed`
///   → `stop` (`tool_calls` if the response made calls), `incomplete` → `length`, or
///   `content_filter` when `incomplete_details.reason` says so; usage from the response.
/// - `error` events (error nested under `error`, or flat `code`/`message`) and
///   `response.failed` → thrown, code mapped from the error's `code`/`type`.
public struct OpenAIResponsesDialect: UpstreamDialect, DialectEventHandling {
    public static let name = "openai-responses"
    public static let framing = UpstreamFraming.serverSentEvents

    public private(set) var isComplete = false
    var failure: TokenwireError?
    /// Function-call items by `output_index`: whether any of their arguments were sent.
    private var argumentsSent: [Int: Bool] = [:]
    private var outputIndexByItemID: [String: Int] = [:]

    public init() {}

    public mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        try consumeKeepingFailure(event)
    }

    public mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        try finishKeepingFailure(tail: tail)
    }

    static let terminatorName = "response.completed"

    func acceptsAsTail(_ tail: SSEEvent) -> Bool {
        guard let type = Self.eventType(of: tail) else { return false }
        return Self.tailTypes.contains(type)
    }

    private static let tailTypes: Set = ["response.completed", "response.incomplete", "response.failed", "error"]

    private static func eventType(of event: SSEEvent) -> String? {
        (try? DialectSupport.decode(Event.self, from: event, dialect: name))?.type ?? nil
    }

    mutating func handle(_ sse: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if sse.data.isEmpty || DialectSupport.isDoneSentinel(sse.data) { return [] }
        let event = try DialectSupport.decode(Event.self, from: sse, dialect: Self.name)
        let type = event.type ?? sse.event ?? ""
        switch type {
        case "response.output_text.delta", "response.refusal.delta":
            return event.delta.map { $0.isEmpty ? [] : [.text($0)] } ?? []
        case _ where type.hasPrefix("response.reasoning") && type.hasSuffix(".delta"):
            return event.delta.map { $0.isEmpty ? [] : [.reasoning($0)] } ?? []
        case "response.output_item.added":
            return startCall(event)
        case "response.function_call_arguments.delta":
            return arguments(event.delta, of: event, final: false)
        case "response.function_call_arguments.done":
            return arguments(event.arguments, of: event, final: true)
        case "response.completed", "response.incomplete":
            return [complete(event.response)]
        case "response.failed":
            let error = event.response?.error
            throw ProviderErrorMapping.error(
                message: error?.message ?? "the upstream response failed",
                identifiers: [error?.code?.value, error?.type],
                dialect: Self.name
            )
        case "error":
            let error = event.error
            throw ProviderErrorMapping.error(
                message: error?.message ?? event.message,
                identifiers: [error?.code?.value ?? event.code?.value, error?.type],
                dialect: Self.name
            )
        default:
            return []
        }
    }

    private mutating func startCall(_ event: Event) -> [TokenEvent] {
        guard let item = event.item, item.type == "function_call", let outputIndex = event.output_index else {
            return []
        }
        if let itemID = item.id { outputIndexByItemID[itemID] = outputIndex }
        let arguments = item.arguments ?? ""
        argumentsSent[outputIndex] = !arguments.isEmpty
        let call = ToolCallDelta(
            index: UInt32(clamping: outputIndex),
            id: item.call_id ?? item.id ?? "",
            name: item.name ?? "",
            arguments: arguments
        )
        return [.toolCall(call)]
    }

    private mutating func arguments(_ text: String?, of event: Event, final: Bool) -> [TokenEvent] {
        guard let text, !text.isEmpty,
            let outputIndex = event.output_index ?? event.item_id.flatMap({ outputIndexByItemID[$0] })
        else { return [] }
        if final, argumentsSent[outputIndex] == true { return [] }
        argumentsSent[outputIndex] = true
        return [.toolCall(ToolCallDelta(index: UInt32(clamping: outputIndex), arguments: text))]
    }

    private mutating func complete(_ response: Response?) -> TokenEvent {
        isComplete = true
        let reason: String
        switch (response?.status, response?.incomplete_details?.reason) {
        case ("incomplete", "content_filter"): reason = "content_filter"
        case ("incomplete", _): reason = "length"
        case ("failed", _), ("cancelled", _): reason = "error"
        default: reason = argumentsSent.isEmpty ? "stop" : "tool_calls"
        }
        let usage = response?.usage.flatMap { Usage(input: $0.input_tokens, output: $0.output_tokens) }
        return .finish(Finish(reason: reason, usage: usage))
    }
}

// Wire shapes: property names mirror the JSON keys.
extension OpenAIResponsesDialect {
    private struct Event: Decodable {
        var type: String?
        var delta: String?
        var arguments: String?
        var output_index: Int?
        var item_id: String?
        var item: Item?
        var response: Response?
        var error: WireError?
        // Flat error events carry `code` and `message` at the top level.
        var code: LossyString?
        var message: String?
    }

    private struct Item: Decodable {
        var id: String?
        var type: String?
        var call_id: String?
        var name: String?
        var arguments: String?
    }

    private struct Response: Decodable {
        var status: String?
        var usage: WireUsage?
        var error: WireError?
        var incomplete_details: IncompleteDetails?
    }

    private struct IncompleteDetails: Decodable {
        var reason: String?
    }

    private struct WireUsage: Decodable {
        var input_tokens: TokenCount?
        var output_tokens: TokenCount?
    }

    private struct WireError: Decodable {
        var type: String?
        var code: LossyString?
        var message: String?
    }
}
