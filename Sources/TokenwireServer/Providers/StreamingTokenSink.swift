import TokenwireProviders
import Synchronization
import TokenwireCore

/// Sends a provider's events to the client as `TokenFrame`s, numbering them 1, 2, 3, ...
///
/// StreamStart goes out just before the first event (or heartbeat), so a provider that
/// fails before producing anything ends the call with a trailers-only error, and the
/// response headers wait for the upstream's first meaningful event.
///
/// Frames are numbered and queued under one lock, so a heartbeat sent by a watchdog task
/// while the provider's task is inside `send` lands between two frames, never out of order.
final class StreamingTokenSink: TokenSink {
    private let writer: GRPCResponseWriter
    private let index: UInt32
    private let state: Mutex<State>

    private struct State {
        var start: StreamStart
        var seq: UInt64 = 0
        var eventsSent = 0
        var deliveredContent = false
    }

    init(writer: GRPCResponseWriter, start: StreamStart, index: UInt32 = 0) {
        self.writer = writer
        self.index = index
        self.state = Mutex(State(start: start))
    }

    /// Events sent so far, heartbeats included, StreamStart not.
    var eventsSent: Int { state.withLock { $0.eventsSent } }

    var hasDeliveredContent: Bool { state.withLock { $0.deliveredContent } }

    func send(_ event: TokenEvent) async throws {
        let turn = writer.turn(after: try enqueue(event))
        if case .goOn = turn { return }
        try await writer.take(turn)
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        try !enqueue(event).mustWaitForCapacity
    }

    func waitUntilReady() async throws {
        try await writer.waitForCapacity()
    }

    func route(to provider: String, model: String) {
        state.withLock { state in
            guard state.seq == 0 else { return }
            state.start.provider = provider
            state.start.model = model
        }
    }

    func heartbeat() {
        // Never waits: a heartbeat is a few bytes, and the watchdog must not block.
        _ = try? enqueue(.heartbeat)
    }

    private func enqueue(_ event: TokenEvent) throws(TokenwireError) -> GRPCResponseWriter.Enqueued {
        try state.withLock { state throws(TokenwireError) in
            if state.seq == 0 {
                state.seq = 1
                _ = try writer.enqueue(TokenFrame(seq: 1, index: index, event: .start(state.start)))
            }
            state.seq += 1
            state.eventsSent += 1
            if event != .heartbeat { state.deliveredContent = true }
            return try writer.enqueue(TokenFrame(seq: state.seq, index: index, event: event))
        }
    }
}
