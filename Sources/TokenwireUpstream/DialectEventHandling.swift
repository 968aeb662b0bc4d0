import TokenwireCore

/// The part every dialect shares: once a stream has failed, it stays failed (a `[DONE]`
/// after an error object must not turn the call OK), nothing counts after the
/// terminator, and a stream that ends without its terminator is an error.
protocol DialectEventHandling {
    /// The error that ended the stream, if any.
    var failure: TokenwireError? { get set }
    var isComplete: Bool { get }
    /// Maps one event; throws for a provider error or malformed input.
    mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent]
    /// Whether an unterminated final event is this dialect's terminator or an error
    /// event: only those are accepted from the tail the SSE parser hands over at EOF
    /// (real servers end `[DONE]` / `message_stop` without the last blank line).
    func acceptsAsTail(_ event: SSEEvent) -> Bool
    /// What the dialect's stream ends with, for the "ended early" error.
    static var terminatorName: String { get }
}

extension DialectEventHandling {
    /// `handle`, unless the stream already failed (rethrow that) or completed (ignore);
    /// a failure is remembered.
    mutating func consumeKeepingFailure(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent] {
        if let failure { throw failure }
        guard !isComplete else { return [] }
        do throws(TokenwireError) {
            return try handle(event)
        } catch {
            failure = error
            throw error
        }
    }

    /// End of stream: accepts the tail if it is the terminator (or an error), then
    /// requires the stream to be complete; otherwise UNAVAILABLE, "upstream ended the
    /// stream early (no <terminator>)", which also sticks.
    mutating func finishKeepingFailure(tail: SSEEvent?) throws(TokenwireError) -> [TokenEvent] {
        if let failure { throw failure }
        var events: [TokenEvent] = []
        if let tail, !isComplete, acceptsAsTail(tail) {
            events = try consumeKeepingFailure(tail)
        }
        guard isComplete else {
            let error = DialectSupport.endedEarly(terminator: Self.terminatorName)
            failure = error
            throw error
        }
        return events
    }
}
