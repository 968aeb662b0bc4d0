import NIOCore
import TokenwireProviders
import Synchronization
import TokenwireCore
import TokenwireWire

/// Sends a provider's events to the client as `TokenFrame`s, numbering them 1, 2, 3, ...
///
/// StreamStart goes out just before the first event (or heartbeat), so a provider that
/// fails before producing anything ends the call with a trailers-only error, and the
/// response headers wait for the upstream's first meaningful event.
///
/// Frames are numbered and queued under one lock, so a heartbeat sent by a watchdog task
/// while the provider's task is inside `send` lands between two frames, never out of order.
///
/// A resumable call's frames go to its `ResumableStream` (encoded once, logged, queued on
/// every attached reader) instead of straight to the call's writer; a reader that goes
/// away then is not the producer's error: the stream decides whether it goes on.
final class StreamingTokenSink: TokenSink {
    private let output: Output
    private let index: UInt32
    private let state: Mutex<State>

    private enum Output {
        case writer(GRPCResponseWriter)
        case stream(ResumableStream)
    }

    private struct State {
        var start: StreamStart
        var seq: UInt64 = 0
        var eventsSent = 0
        var deliveredContent = false
    }

    /// What the producer does after an event was queued.
    private enum Next {
        case turn(GRPCResponseWriter, GRPCResponseWriter.Enqueued)
        case goOn
        case waitForReader(ResumableStream)
    }

    init(writer: GRPCResponseWriter, start: StreamStart, index: UInt32 = 0) {
        self.output = .writer(writer)
        self.index = index
        self.state = Mutex(State(start: start))
    }

    /// A sink whose frames go to a resumable stream (`start` carries its token).
    init(stream: ResumableStream, start: StreamStart) {
        self.output = .stream(stream)
        self.index = 0
        self.state = Mutex(State(start: start))
    }

    /// Events sent so far, heartbeats included, StreamStart not.
    var eventsSent: Int { state.withLock { $0.eventsSent } }

    var hasDeliveredContent: Bool { state.withLock { $0.deliveredContent } }

    func send(_ event: TokenEvent) async throws {
        try await settle(try enqueue(event))
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        switch try enqueue(event) {
        case .goOn: return true
        case .turn(_, let enqueued): return !enqueued.mustWaitForCapacity
        case .waitForReader: return false
        }
    }

    func waitUntilReady() async throws {
        switch output {
        case .writer(let writer):
            try await writer.waitForCapacity()
        case .stream(let stream):
            do {
                try await stream.waitUntilReady()
            } catch {
                throw TokenwireError.cancelled("the call was cancelled")
            }
        }
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

    private func settle(_ next: Next) async throws {
        switch next {
        case .goOn:
            return
        case .turn(let writer, let enqueued):
            let turn = writer.turn(after: enqueued)
            if case .goOn = turn { return }
            do {
                try await writer.take(turn)
            } catch {
                // A resumable stream's reader that left is detached by its stream; only the
                // producer's own cancellation ends it.
                guard case .stream = output, !Task.isCancelled else { throw error }
            }
        case .waitForReader(let stream):
            do {
                try await stream.waitForReader()
            } catch {
                throw TokenwireError.cancelled("the call was cancelled")
            }
        }
    }

    private func enqueue(_ event: TokenEvent) throws(TokenwireError) -> Next {
        try state.withLock { state throws(TokenwireError) in
            if state.seq == 0 {
                state.seq = 1
                _ = try deliver(TokenFrame(seq: 1, index: index, event: .start(state.start)))
            }
            state.seq += 1
            state.eventsSent += 1
            if event != .heartbeat { state.deliveredContent = true }
            return try deliver(TokenFrame(seq: state.seq, index: index, event: event))
        }
    }

    private func deliver(_ frame: TokenFrame) throws(TokenwireError) -> Next {
        switch output {
        case .writer(let writer):
            return .turn(writer, try writer.enqueue(frame))
        case .stream(let stream):
            switch stream.append(frame) {
            case .goOn: return .goOn
            case .settle(let writer, let enqueued): return .turn(writer, enqueued)
            case .waitForReader: return .waitForReader(stream)
            case .stop(let reason): throw TokenwireError.cancelled(reason)
            }
        }
    }
}
