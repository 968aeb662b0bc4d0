import NIOCore
import TokenwireCore
import TokenwireHTTP2
public import TokenwireWire

/// Writes one call's response messages. Any task may use it; a write suspends while the
/// client's flow-control window is closed and the queue is full.
public struct GRPCResponseWriter: Sendable {
    let outbound: HTTP2OutboundStream
    /// Where to wait for the next turn when running on the connection's event loop;
    /// nil (or a writer on another thread): `Task.yield()`.
    let gate: LoopTickGate.Handle?

    init(outbound: HTTP2OutboundStream, gate: LoopTickGate.Handle?) {
        self.outbound = outbound
        self.gate = gate
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

        /// Whether the queue is full: the writer must wait for the client's window.
        var mustWaitForCapacity: Bool { outcome == .mustWait }
    }

    /// Queues one message without waiting: the first half of `write`. Callers that need
    /// several tasks' messages in a fixed order queue them under their own lock, then call
    /// `settle` outside it.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func enqueue(_ message: some WireMessage) throws(TokenwireError) -> Enqueued {
        do {
            if gate?.onLoop != nil {
                let (outcome, count) = try outbound.enqueueCounting(turnBytes: .max) { buffer in
                    GRPCMessageFramer.appendMessage(message, to: &buffer)
                }
                return Enqueued(outcome: outcome, messageNumber: count)
            }
            let outcome = try outbound.enqueue { buffer in GRPCMessageFramer.appendMessage(message, to: &buffer) }
            return Enqueued(outcome: outcome, messageNumber: 0)
        } catch let error as HTTP2StreamClosedError {
            throw TokenwireError.cancelled("the client closed the call (\(error.reason))")
        } catch {
            throw TokenwireError.cancelled("the client closed the call (\(error))")
        }
    }

    /// Waits as the queued message asks: for the client's window, or for the next turn.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func settle(_ enqueued: Enqueued) async throws {
        do {
            if enqueued.outcome == .mustWait {
                try await outbound.waitForCapacity()
            } else if enqueued.messageNumber > 0, let gate = gate?.onLoop {
                // On an event loop: the loop's per-tick budget decides when to pause.
                if gate.spend(messageNumber: enqueued.messageNumber) {
                    await gate.park()
                } else if enqueued.messageNumber == 2, gate.isQuiet {
                    // The call's first token (after StreamStart) is queued: on a quiet loop, step
                    // aside once so the flush already scheduled sends it before we make more.
                    await Task.yield()
                }
            } else if enqueued.outcome == .mustYield {
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
    static let responseHeaders = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")]

    /// A trailers-only response: the response headers and the status in one HEADERS frame.
    static func trailersOnly(_ status: GRPCStatus) -> [HTTP2Header] {
        responseHeaders + make(status)
    }
}
