public import TokenwireCore

/// Calls with an absolute deadline: a point in time, for callers that share one deadline
/// among several calls (a request handler's own deadline, a batch job's end). The time
/// left is sent as `grpc-timeout` when the call starts; a deadline already passed ends
/// the call with DEADLINE_EXCEEDED at once.
extension TokenwireClient {
    /// `generate(_:deadline:)`, ending by `deadline`.
    public func generate(
        _ request: GenerateRequest, until deadline: ContinuousClock.Instant, metadata: [(name: String, value: String)] = []
    ) -> TokenFrameStream {
        generate(request, deadline: Self.timeLeft(until: deadline), metadata: metadata)
    }

    /// `complete(_:deadline:)`, ending by `deadline`.
    public func complete(
        _ request: GenerateRequest, until deadline: ContinuousClock.Instant, metadata: [(name: String, value: String)] = []
    ) async throws -> Completion {
        try await complete(request, deadline: Self.timeLeft(until: deadline), metadata: metadata)
    }

    /// `generateBatch(_:deadline:)`, ending by `deadline`.
    public func generateBatch(
        _ request: BatchRequest, until deadline: ContinuousClock.Instant, metadata: [(name: String, value: String)] = []
    ) -> BatchResultStream {
        generateBatch(request, deadline: Self.timeLeft(until: deadline), metadata: metadata)
    }

    /// The time left until `deadline`; a passed one leaves the least a timeout can say.
    static func timeLeft(until deadline: ContinuousClock.Instant) -> Duration {
        max(ContinuousClock.now.duration(to: deadline), .nanoseconds(1))
    }
}
