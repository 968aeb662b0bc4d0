import TokenwireCore

/// How a `Generate` stream numbers its frames: 1, 2, 3, ..., StreamStart first, sent just
/// before the first event (or heartbeat), so a provider that fails before producing anything
/// ends the call with a trailers-only error. A value: its owner keeps it under the lock
/// that orders the stream's frames (`StreamingTokenSink`'s, or a resumable stream's).
struct FrameNumbering {
    /// StreamStart as it will go out (a fallback may still rename the provider).
    private(set) var start: StreamStart
    let index: UInt32
    /// The seq of the last frame made (0: none yet).
    private(set) var seq: UInt64 = 0
    /// Whether an event other than a heartbeat has been numbered.
    private(set) var deliveredContent = false

    init(start: StreamStart, index: UInt32 = 0) {
        self.start = start
        self.index = index
    }

    /// The frames `event` makes, in order: StreamStart first when nothing went out yet.
    mutating func frames(for event: TokenEvent) -> (start: TokenFrame?, event: TokenFrame) {
        var first: TokenFrame?
        if seq == 0 {
            seq = 1
            first = TokenFrame(seq: 1, index: index, event: .start(start))
        }
        seq += 1
        if event != .heartbeat { deliveredContent = true }
        return (first, TokenFrame(seq: seq, index: index, event: event))
    }

    /// The call moves on to a fallback: StreamStart, if it has not gone out, names it.
    mutating func route(to provider: String, model: String) {
        guard seq == 0 else { return }
        start.provider = provider
        start.model = model
    }
}
