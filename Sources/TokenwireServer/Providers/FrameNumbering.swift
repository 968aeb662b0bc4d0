import NIOCore
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
    /// When the first text, tool call or reasoning was numbered (queued for the client
    /// just after): the call's time to first token ends here.
    private(set) var firstContentAt: NIODeadline?
    /// The usage of the stream's Finish, once numbered.
    private(set) var usage: Usage?

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
        switch event {
        case .heartbeat: break
        case .text, .toolCall, .reasoning:
            deliveredContent = true
            if firstContentAt == nil { firstContentAt = .now() }
        case .finish(let finish):
            deliveredContent = true
            usage = finish.usage ?? usage
        case .start, .error, .jsonSnapshot:
            deliveredContent = true
        }
        return (first, TokenFrame(seq: seq, index: index, event: event))
    }

    /// The call moves on to a fallback: StreamStart, if it has not gone out, names it.
    mutating func route(to provider: String, model: String) {
        guard seq == 0 else { return }
        start.provider = provider
        start.model = model
    }

    /// What the call's log line reports of this stream.
    func report(into fields: inout CallReport.Fields) {
        fields.servedModel = start.model
        fields.provider = start.provider
        fields.firstContentAt = firstContentAt
        if let usage {
            fields.inputTokens = usage.inputTokens
            fields.outputTokens = usage.outputTokens
        }
    }
}
