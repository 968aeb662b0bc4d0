import TokenwireCore

/// The part every dialect shares: once a stream has failed, it stays failed (a `[DONE]`
/// after an error object must not turn the call OK), and nothing counts after the
/// terminator.
protocol DialectEventHandling {
    /// The error that ended the stream, if any.
    var failure: TokenwireError? { get set }
    var isComplete: Bool { get }
    /// Maps one event; throws for a provider error or malformed input.
    mutating func handle(_ event: SSEEvent) throws(TokenwireError) -> [TokenEvent]
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
}
