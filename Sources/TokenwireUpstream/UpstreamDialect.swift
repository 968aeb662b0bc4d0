public import Foundation
public import TokenwireCore

/// How an upstream frames its streaming body.
public enum UpstreamFraming: Sendable, Hashable {
    /// `text/event-stream`: feed the body to an `SSEParser`.
    case serverSentEvents
    /// `application/x-ndjson`: feed the body to an `NDJSONSplitter` and hand each line to
    /// the dialect as `SSEEvent(data: line)`.
    case newlineDelimitedJSON
}

/// One provider's streaming wire format, mapped to Tokenwire's frame model.
///
/// A dialect is a value-type state machine for one upstream response. Drive it like this:
///
/// ```swift
/// var parser = SSEParser()
/// var dialect = AnthropicDialect()
/// for read in body {
///     try parser.parse(read) { event in emit(try dialect.consume(event)) }
/// }
/// emit(try dialect.finish(tail: parser.finish()))
/// ```
///
/// Every successful stream yields `.text`, `.reasoning` and `.toolCall` events as they
/// arrive and then exactly one `.finish`, whose reason is one of `stop`, `length`,
/// `tool_calls`, `content_filter` or `error`, with usage when the provider reported it.
/// Tool-call fragments carry an `index`; fragments with the same index make one call,
/// unless one brings a different non-empty `id`, which starts a new call at that index.
/// A fragment may repeat the id its call already has; consumers must not append it again.
///
/// Failures are `TokenwireError`s with a gRPC status code:
/// - a provider error object in the stream: the provider's own message, with a code mapped
///   from the provider's error type (rate limits → RESOURCE_EXHAUSTED, overload and server
///   errors → UNAVAILABLE, invalid requests → INVALID_ARGUMENT, ...; see
///   `ProviderErrorMapping`);
/// - a payload that is not the JSON the dialect expects: INTERNAL, naming the dialect;
/// - the stream ending before the dialect's terminator: UNAVAILABLE.
///
/// Once a dialect has thrown, every later call throws the same error again: nothing that
/// follows (a `[DONE]`, say) can turn a failed stream into a successful one.
///
/// - Important: Value types with no I/O; one dialect value per upstream response, used
///   from one task at a time.
public protocol UpstreamDialect: Sendable {
    /// The dialect's name as used in configuration and messages, e.g. `openai-chat`.
    static var name: String { get }

    /// How the upstream frames its body.
    static var framing: UpstreamFraming { get }

    /// A dialect at the start of a response.
    init()

    /// Whether the dialect's terminator has been seen, after which the upstream may be
    /// closed and `finish(tail:)` will succeed. Later events are ignored (except by
    /// `GeminiDialect`, which has no terminator event and still counts their usage).
    var isComplete: Bool { get }

    /// Maps one event from the upstream to frame events.
    ///
    /// - Parameter event: A dispatched SSE event, or for NDJSON dialects one line as
    ///   `SSEEvent(data: line)`.
    /// - Returns: The frame events, in order; often none.
    /// - Throws: `TokenwireError` for a provider error (mapped code, the provider's message)
    ///   or malformed JSON (INTERNAL).
    mutating func consume(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent]

    /// Ends the response; call it exactly once, after the last `consume`.
    ///
    /// - Parameter tail: What the parser held when the body ended (`SSEParser.finish()`,
    ///   or `NDJSONSplitter.finish()` as `SSEEvent(data:)`). Accepted only if it is this
    ///   dialect's complete terminating event (or a provider error, which is thrown);
    ///   otherwise ignored.
    /// - Returns: The last frame events, ending with the `.finish` if it was not already
    ///   emitted.
    /// - Throws: UNAVAILABLE "upstream ended the stream early (no <terminator>)" if the
    ///   terminator never arrived; any error thrown before, again.
    mutating func finish(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent]

    /// The JSON body of a streaming request for this upstream.
    ///
    /// - Parameters:
    ///   - request: The caller's request; `maxTokens` 0 leaves the limit to the provider
    ///     where the provider allows it.
    ///   - model: The provider's own model name (the routed name's suffix).
    /// - Returns: UTF-8 JSON with sorted keys.
    static func requestBody(for request: GenerateRequest, model: String) -> Data
}
