/// When and how long to wait before trying a provider again. Retries happen only before
/// the client has received a token, and only for failures another try may cure
/// (connection errors, HTTP 429, 5xx, a stall or drop before the first event).
public struct RetryPolicy: Sendable, Hashable {
    /// Tries in all, the first included; 1 disables retries.
    public var maxAttempts: Int
    /// The backoff before the second try; it doubles each time up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait before try `attempt + 1` after try `attempt` failed (attempt counts from 1).
    ///
    /// Exponential with full jitter (a uniform draw between half and all of the backoff,
    /// so many callers hit by the same outage spread out); a provider's `Retry-After` wins
    /// when it asks for longer.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let doublings = min(max(attempt - 1, 0), 30)
        var backoff = initialBackoff * (1 << doublings)
        if backoff > maxBackoff { backoff = maxBackoff }
        let jittered = backoff * Double.random(in: 0.5...1.0)
        if let retryAfter, retryAfter > jittered { return retryAfter }
        return jittered
    }
}
