import NIOCore
import TokenwireCore
import TokenwireHTTP2
public import TokenwireWire

/// Writes one call's response messages. Any task may use it; a write suspends while the
/// client's flow-control window is closed and the queue is full.
///
/// A class, though it holds only immutable references: it travels with every frame (in
/// the actions a sink and a resumable stream return), and a struct of four references
/// cost four retains and releases per copy, a quarter of a flood call's CPU.
public final class GRPCResponseWriter: Sendable {
    let outbound: HTTP2OutboundStream
    /// Where to wait for the next turn when running on the connection's event loop;
    /// nil (or a writer on another thread): `Task.yield()`.
    let gate: LoopTickGate.Handle?
    /// How the call is tied to a resumable stream (filled in by its handler).
    let attachment: CallAttachment

    /// The event loop of the call's connection.
    let eventLoop: any EventLoop

    init(outbound: HTTP2OutboundStream, gate: LoopTickGate.Handle?, eventLoop: any EventLoop, attachment: CallAttachment = CallAttachment()) {
        self.outbound = outbound
        self.gate = gate
        self.eventLoop = eventLoop
        self.attachment = attachment
    }

    /// Sends one message. Returns at once unless the client is behind (then it waits for
    /// the HTTP/2 window) or this writer has had a long turn (then it yields).
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    public func write(_ message: some WireMessage) async throws {
        try await settle(try enqueue(message))
    }

    /// What a queued message asks of its writer before the next one.
    struct Enqueued: Sendable {
        fileprivate var outcome: HTTP2OutboundStream.WriteOutcome
        /// The message's number on its stream (1 for the first); 0 when the writer takes
        /// turns by `Task.yield()` rather than by the loop's gate.
        fileprivate var messageNumber: Int
        /// Bytes the stream's queue holds: unsent, and sent ones kept (`retainSentFrames`).
        var heldBytes: Int

        /// Whether the queue is full: the writer must wait for the client's window.
        var mustWaitForCapacity: Bool { outcome == .mustWait }
    }

    /// Queues one message without waiting: the first half of `write`. Callers that need
    /// several tasks' messages in a fixed order queue them under their own lock, then call
    /// `settle` outside it.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func enqueue(_ message: some WireMessage) throws(TokenwireError) -> Enqueued {
        try enqueue { buffer in GRPCMessageFramer.appendMessage(message, to: &buffer) }
    }

    /// Queues a message already encoded (length prefix included), as `enqueue(_:)`.
    func enqueue(bytes message: UnsafeRawBufferPointer) throws(TokenwireError) -> Enqueued {
        try enqueue { buffer in buffer.writeBytes(message) }
    }

    private func enqueue(_ body: (inout ByteBuffer) -> Void) throws(TokenwireError) -> Enqueued {
        do {
            if gate?.onLoop != nil {
                let (outcome, count, held) = try outbound.enqueueCounting(turnBytes: .max, body)
                return Enqueued(outcome: outcome, messageNumber: count, heldBytes: held)
            }
            let (outcome, _, held) = try outbound.enqueueCounting(body)
            return Enqueued(outcome: outcome, messageNumber: 0, heldBytes: held)
        } catch let error as HTTP2StreamClosedError {
            throw TokenwireError.cancelled("the client closed the call (\(error.reason))")
        } catch {
            throw TokenwireError.cancelled("the client closed the call (\(error))")
        }
    }

    /// What a writer must do before its next message.
    enum Turn: Sendable {
        /// Nothing: write on (most messages; no suspension, no executor check).
        case goOn
        /// The queue is full: wait for the client's window.
        case waitForCapacity
        /// This loop's budget for the tick is spent: park until a later tick.
        case park(LoopTickGate.Handle)
        /// Step aside once (a call's first token on a quiet loop; a long turn off the loop).
        case yield
    }

    /// Decides, without suspending, what the queued message asks of its writer. Spends the
    /// message from the loop's budget, so call it exactly once per message.
    func turn(after enqueued: Enqueued) -> Turn {
        if enqueued.outcome == .mustWait { return .waitForCapacity }
        if enqueued.messageNumber > 0, let spent = gate?.spend(messageNumber: enqueued.messageNumber) {
            // On an event loop: the loop's per-tick budget decides when to pause.
            if spent.mustPark { return .park(gate!) }
            // The call's first token (after StreamStart) is queued: on a quiet loop, step
            // aside once so the flush already scheduled sends it before we make more.
            if enqueued.messageNumber == 2, spent.isQuiet { return .yield }
            return .goOn
        }
        return enqueued.outcome == .mustYield ? .yield : .goOn
    }

    /// Waits as the queued message asks: for the client's window, or for the next turn.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func settle(_ enqueued: Enqueued) async throws {
        let turn = turn(after: enqueued)
        if case .goOn = turn { return }
        try await take(turn)
    }

    /// Takes a turn that is not `.goOn`. Writers on the token path call it only when
    /// `turn(after:)` asks them to: an `async` call costs an executor check even when it
    /// does not suspend (`swift_task_switch`, a lookup of the task's executor preference
    /// under its status lock), about three per message when every message made one.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func take(_ turn: Turn) async throws {
        do {
            switch turn {
            case .goOn:
                break
            case .waitForCapacity:
                try await outbound.waitForCapacity()
            case .park(let handle):
                await handle.onLoop?.park()
            case .yield:
                await Task.yield()
            }
        } catch let error as HTTP2StreamClosedError {
            throw TokenwireError.cancelled("the client closed the call (\(error.reason))")
        } catch is CancellationError {
            throw TokenwireError.cancelled("the call was cancelled")
        }
    }

    /// Suspends until the stream's queue has drained to its low watermark. Writers that
    /// share the stream may all wait; they resume together.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away or the
    ///   call was cancelled.
    func waitForCapacity() async throws {
        do {
            try await outbound.waitForCapacity()
        } catch let error as HTTP2StreamClosedError {
            throw TokenwireError.cancelled("the client closed the call (\(error.reason))")
        } catch is CancellationError {
            throw TokenwireError.cancelled("the call was cancelled")
        }
    }

    /// From now on the stream's queue keeps the frames it has sent, the newest up to
    /// `maxBytes` (whole frames), until `takeSentFrames`: a resumable stream's log while
    /// this writer is its only reader.
    func retainSentFrames(maxBytes: Int) {
        outbound.retainSentMessages(maxBytes: maxBytes, messageLength: { GRPCMessageFramer.messageLength(in: $0, at: $1) })
    }

    /// Stops keeping sent frames; returns every frame kept (sent or not, back to back,
    /// oldest first), how many were dropped before them and the first one's position (as
    /// `keptFramesEnd` counts). `final`: no frame follows (they are shared with the queue,
    /// not copied).
    func takeSentFrames(final: Bool = false) -> (messages: ByteBuffer, evicted: Int, start: Int)? {
        outbound.takeRetained(final: final)
    }

    /// Where the next frame queued will start among the kept frames (a position that never
    /// changes); nil when frames are not kept.
    var keptFramesEnd: Int? { outbound.retainedEnd }

    /// A copy of the kept frames from `position` (a `keptFramesEnd` seen earlier) on, back
    /// to back, and the position after them; nil when frames are not kept or some of these
    /// were dropped. (A resume store takes a stream's new frames this way, in batches.)
    func copyKeptFrames(from position: Int) -> (messages: ByteBuffer, end: Int)? {
        outbound.copyRetained(from: position)
    }

    /// Drops the kept frames already sent. - Returns: the bytes dropped.
    func dropSentFrames() -> Int {
        outbound.dropRetained()
    }

    /// Ends the response with `status` in the trailers.
    func finish(_ status: GRPCStatus) {
        outbound.finish(trailers: GRPCStatusTrailers.make(status))
    }
}

/// Renders a status as gRPC trailers.
enum GRPCStatusTrailers {
    static func make(_ status: GRPCStatus) -> [HTTP2Header] {
        var trailers = [HTTP2Header("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty {
            trailers.append(HTTP2Header("grpc-message", GRPCStatusMessage.percentEncode(status.message)))
        }
        return trailers
    }

    /// Headers of a response that starts normally.
    static let responseHeaders = [
        HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc"),
        HTTP2Header("grpc-accept-encoding", GRPCRequestHead.acceptedEncodings),
    ]

    /// A trailers-only response: the response headers and the status in one HEADERS frame.
    static func trailersOnly(_ status: GRPCStatus) -> [HTTP2Header] {
        responseHeaders + make(status)
    }
}
