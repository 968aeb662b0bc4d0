import TokenwireProviders
import Synchronization
import TokenwireCore

/// Sends a provider's events to the client as `TokenFrame`s, numbered by `FrameNumbering`.
///
/// Frames are numbered and queued under one lock, so a heartbeat sent by a watchdog task
/// while the provider's task is inside `send` lands between two frames, never out of order:
/// the sink's own lock when it writes straight to the call's writer, or the lock of the
/// call's `ResumableStream` (which logs each frame and queues it on every attached reader).
/// A resumable stream's reader that goes away is not the producer's error: the stream
/// decides whether the producer goes on.
final class StreamingTokenSink: TokenSink {
    /// The call's resumable stream, which numbers, logs and queues each frame; nil: the
    /// sink numbers its frames and queues them on `writer` itself.
    private let stream: ResumableStream?
    /// The call's own writer: the only one a frame goes to, almost always. A `let`, so a
    /// frame queued on it passes no reference around (`Next.turn`); another reader's
    /// writer (a resumed stream's) is handed on with its frame (`Next.turnOf`).
    private let writer: GRPCResponseWriter
    /// The numbering of a sink that writes straight to its call's writer (a resumable
    /// stream numbers its own).
    private let numbering: Mutex<FrameNumbering?>
    /// What the last `offer` that returned `false` asked of the producer: taken by the
    /// `waitUntilReady` that follows it (one producer at a time, so one slot). Under a
    /// lock because the two run on different threads for the relay: `offer` in the loop's
    /// read callback, `waitUntilReady` in the task that callback starts. Taken only when
    /// a producer pauses, never per token.
    private let pending = Mutex<Pause?>(nil)

    /// What the producer does after an event was queued.
    private enum Next {
        /// The call's own writer queued it.
        case turn(GRPCResponseWriter.Enqueued)
        /// Another reader's writer asks for its turn.
        case turnOf(GRPCResponseWriter, GRPCResponseWriter.Enqueued)
        case goOn
        case waitForReader(ResumableStream)
    }

    /// Why an `offer` asked its producer to pause: a turn of the call's writer (the
    /// client's window, or the loop's turn for other calls), or a resumable stream with
    /// a full log and no reader.
    private enum Pause {
        case turn(GRPCResponseWriter, GRPCResponseWriter.Turn)
        case waitForReader(ResumableStream)
    }

    init(writer: GRPCResponseWriter, start: StreamStart, index: UInt32 = 0) {
        self.stream = nil
        self.writer = writer
        self.numbering = Mutex(FrameNumbering(start: start, index: index))
    }

    /// A sink whose frames go to a resumable stream (which numbers them), started by the
    /// call whose writer is `writer` (the stream's reader 0).
    init(stream: ResumableStream, writer: GRPCResponseWriter) {
        self.stream = stream
        self.writer = writer
        self.numbering = Mutex(nil)
    }

    var hasDeliveredContent: Bool {
        if let stream { stream.hasDeliveredContent } else { numbering.withLock { $0?.deliveredContent ?? false } }
    }

    func send(_ event: TokenEvent) async throws {
        try await settle(try enqueue(event))
    }

    /// Queues `event`. From a task, decides the producer's turn without suspending, as
    /// `send` does: `false` when the client is behind or the loop wants its turn for other
    /// calls (`GRPCResponseWriter.turn(after:)`), and the `waitUntilReady` that follows
    /// takes that turn; a task that offers event after event shares its loop exactly as
    /// one that sends them, with no `async` call per event. From outside any task (the
    /// relay, offering each upstream read's events in the loop's read callback) only the
    /// client's window counts: such a producer is paced by its reads, and pausing them
    /// would only leave bytes in the socket (where a reset from the provider discards
    /// them).
    func offer(_ event: TokenEvent) throws -> Bool {
        switch try enqueue(event) {
        case .goOn:
            return true
        case .turn(let enqueued):
            return offered(writer.turn(after: enqueued), of: writer)
        case .turnOf(let writer, let enqueued):
            return offered(writer.turn(after: enqueued), of: writer)
        case .waitForReader(let stream):
            pending.withLock { $0 = .waitForReader(stream) }
            return false
        }
    }

    /// `offer`'s answer for a writer's turn; a pause is kept for `waitUntilReady`.
    private func offered(_ turn: GRPCResponseWriter.Turn, of writer: GRPCResponseWriter) -> Bool {
        switch turn {
        case .goOn:
            return true
        case .waitForCapacity:
            break
        default:
            // Asked only on this rarer path: whether the producer is a task costs a
            // retain and a release.
            guard Self.isInTask else { return true }
        }
        pending.withLock { $0 = .turn(writer, turn) }
        return false
    }

    private static var isInTask: Bool { withUnsafeCurrentTask { $0 != nil } }

    func waitUntilReady() async throws {
        switch pending.withLock({ pending in defer { pending = nil }; return pending }) {
        case .turn(let writer, let turn):
            try await take(turn, of: writer)
        case .waitForReader(let stream):
            try await waitForReader(stream)
        case nil:
            // Not after an offer's pause (a producer that waits before it offers): wait
            // for the client's window.
            guard let stream else { return try await writer.waitForCapacity() }
            do {
                try await stream.waitUntilReady()
            } catch {
                throw TokenwireError.cancelled("the call was cancelled")
            }
        }
    }

    func route(to provider: String, model: String) {
        if let stream { stream.route(to: provider, model: model) } else { numbering.withLock { $0?.route(to: provider, model: model) } }
    }

    /// What the call's log line reports of the stream so far.
    func report(into fields: inout CallReport.Fields) {
        if let stream { stream.report(into: &fields) } else { numbering.withLock { $0?.report(into: &fields) } }
    }

    func heartbeat() {
        // Never waits: a heartbeat is a few bytes, and the watchdog must not block.
        _ = try? enqueue(.heartbeat)
    }

    private func settle(_ next: Next) async throws {
        switch next {
        case .goOn:
            return
        case .turn(let enqueued):
            let turn = writer.turn(after: enqueued)
            if case .goOn = turn { return }
            try await take(turn, of: writer)
        case .turnOf(let writer, let enqueued):
            let turn = writer.turn(after: enqueued)
            if case .goOn = turn { return }
            try await take(turn, of: writer)
        case .waitForReader(let stream):
            try await waitForReader(stream)
        }
    }

    private func take(_ turn: GRPCResponseWriter.Turn, of writer: GRPCResponseWriter) async throws {
        do {
            try await writer.take(turn)
        } catch {
            // A resumable stream's reader that left is detached by its stream; only the
            // producer's own cancellation ends it.
            guard stream != nil, !Task.isCancelled else { throw error }
        }
    }

    private func waitForReader(_ stream: ResumableStream) async throws {
        do {
            try await stream.waitForReader()
        } catch {
            throw TokenwireError.cancelled("the call was cancelled")
        }
    }

    private func enqueue(_ event: TokenEvent) throws(TokenwireError) -> Next {
        // Optional chaining, not `if let`: binding the stream took a reference per frame.
        guard let delivery = stream?.append(event) else {
            return try numbering.withLock { numbering throws(TokenwireError) in
                let (start, frame) = numbering!.frames(for: event)
                if let start { _ = try writer.enqueue(start) }
                return .turn(try writer.enqueue(frame))
            }
        }
        switch delivery {
        case .goOn: return .goOn
        case .settleFirst(let enqueued): return .turn(enqueued)
        case .settle(let writer, let enqueued): return .turnOf(writer, enqueued)
        case .waitForReader: return .waitForReader(stream!)
        case .stop(let reason): throw TokenwireError.cancelled(reason)
        }
    }
}
