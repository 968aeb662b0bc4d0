public import TokenwireCore

/// Where a call's frames go: the gRPC stream for `Generate`, an accumulator for `Complete`.
/// Sequence numbers and the StreamStart frame are the sink's business, not the provider's.
public protocol TokenSink: AnyObject, Sendable {
    /// Delivers one event. Suspends while the client is slow to read.
    ///
    /// One task at a time calls `send`.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func send(_ event: TokenEvent) async throws

    /// Sends a Heartbeat frame at once, from any task, even while another task is inside
    /// `send` (the frame then goes out before or after that event, never inside it).
    /// Providers call it when their upstream is silent; sinks that have no use for
    /// heartbeats (`Complete`) ignore it.
    func heartbeat()

    /// Whether an event other than a heartbeat has been delivered: once it has, a failed
    /// provider must not be retried or replaced, since the client would see tokens twice.
    var hasDeliveredContent: Bool { get }

    /// The call moves on to a fallback: StreamStart, if it has not gone out yet, names
    /// this provider and model instead.
    func route(to provider: String, model: String)
}

extension TokenSink {
    public func heartbeat() {}
    public func route(to provider: String, model: String) {}
}

/// A source of tokens for some models: the synthetic generator, or an upstream LLM provider.
public protocol TokenProvider: Sendable {
    /// The provider's name, as it appears in `StreamStart.provider` and model names.
    var name: String { get }
    /// The models it serves, as `provider/model`.
    var models: [String] { get }
    /// Streams one completion for `request` into `sink`, ending with a `.finish` event.
    ///
    /// `request.model` is the routed name (`provider/model`), never an alias. The call's
    /// deadline, if any, is `CallDeadline.current`.
    /// - Throws: `TokenwireError` with the status the call should end with.
    func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws

    /// Releases what the provider holds (connection pools); called once when the server
    /// has shut down its calls.
    func shutdown() async
}

extension TokenProvider {
    public func shutdown() async {}
}

/// The deadline of the call being served, from `grpc-timeout`; nil when the client set none.
public enum CallDeadline {
    @TaskLocal public static var current: ContinuousClock.Instant?
}
