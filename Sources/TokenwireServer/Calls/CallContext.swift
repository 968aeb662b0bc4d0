/// What a service handler knows about the call it serves.
public struct CallContext: Sendable {
    /// `/package.Service/Method`.
    public var path: String
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    public var deadline: ContinuousClock.Instant?
    /// The request's custom metadata (non-reserved headers), in order. A checked
    /// `authorization` header is removed before the handler sees it.
    public var metadata: [(name: String, value: String)]
    /// The tenant the call's bearer token names (`--auth-tokens`); nil without tokens.
    public var tenant: String?
    /// What the handler learns for the call's log line (models, provider, TTFT, tokens).
    let report = CallReport()

    public init(path: String, deadline: ContinuousClock.Instant? = nil, metadata: [(name: String, value: String)] = []) {
        self.path = path
        self.deadline = deadline
        self.metadata = metadata
    }
}
