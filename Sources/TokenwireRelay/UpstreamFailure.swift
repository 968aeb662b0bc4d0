import TokenwireCore

/// Why one try at a provider failed: the status the call would end with, and whether
/// another try (after `retryAfter`, if the provider asked) might succeed.
struct UpstreamFailure: Error, Sendable {
    var error: TokenwireError
    /// Connection errors, 429, 5xx, stalls and drops: worth another try if the client has
    /// no token yet.
    var isRetryable: Bool
    /// The provider's `Retry-After`, when it sent one.
    var retryAfter: Duration?
    /// The upstream went silent past its stall timeout (the watchdog gave up on it).
    var isStall = false

    init(_ error: TokenwireError, isRetryable: Bool, retryAfter: Duration? = nil, isStall: Bool = false) {
        self.error = error
        self.isRetryable = isRetryable
        self.retryAfter = retryAfter
        self.isStall = isStall
    }

    /// A failure the dialect reported: an in-stream error object (retryable when it says
    /// the provider is overloaded or rate limited), malformed JSON, or an early end.
    static func fromDialect(_ error: TokenwireError, provider: String) -> UpstreamFailure {
        UpstreamFailure(
            TokenwireError(code: error.code, message: "provider '\(provider)': \(error.message)"),
            isRetryable: error.code == .unavailable || error.code == .resourceExhausted)
    }
}
