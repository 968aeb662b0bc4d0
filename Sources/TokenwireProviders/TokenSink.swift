public import TokenwireCore

/// Where a call's frames go: the gRPC stream for `Generate`, an accumulator for `Complete`.
/// Sequence numbers and the StreamStart frame are the sink's business, not the provider's.
public protocol TokenSink: AnyObject, Sendable {
    /// Delivers one event. Suspends while the client is slow to read.
    ///
    /// One task at a time calls `send`.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func send(_ event: TokenEvent) async throws

    /// Delivers one event without suspending: `send` for a producer that is not a task,
    /// such as the relay, which hands on each upstream read's events from the event loop
    /// that read them.
    ///
    /// The same caller rule as `send`: one producer at a time.
    /// A producer that is a task may offer too, awaiting only when `offer` says so: an
    /// `async` call that does not suspend still costs an executor check, so offering
    /// spares a tight producer (`synthetic/flood`) one or two per event.
    /// - Returns: `true` when the sink takes more at once; `false` when the producer must
    ///   `await waitUntilReady()` before it offers more: the client is behind, or (for a
    ///   producer that is a task) the event loop the call shares wants its turn for other
    ///   calls. A producer that is not a task (the relay's read callback) is paced by its
    ///   reads and only waits for the client.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func offer(_ event: TokenEvent) throws -> Bool

    /// After `offer` returned `false`: suspends until the client has caught up, or until
    /// the producer's next turn.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away or the
    ///   waiting task is cancelled.
    func waitUntilReady() async throws

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
