public import NIOCore
public import TokenwireCore
public import TokenwireHTTP2
public import TokenwireWire

/// Writes one call's response messages. Any task may use it; a write suspends while the
/// client's flow-control window is closed and the queue is full.
public struct GRPCResponseWriter: Sendable {
    let outbound: HTTP2OutboundStream
    /// Where to wait for the next turn when running on an event loop; nil: `Task.yield()`.
    let gate: LoopTickGate?

    init(outbound: HTTP2OutboundStream, gate: LoopTickGate?) {
        self.outbound = outbound
        self.gate = gate
    }

    /// Sends one message. Returns at once unless the client is behind (then it waits for
    /// the HTTP/2 window) or this writer has had a long turn (then it yields).
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    public func write(_ message: some WireMessage) async throws {
        try await writeFramed { buffer in GRPCMessageFramer.appendMessage(message, to: &buffer) }
    }

    /// Sends one message that `append` frames into the stream's queue. `append` runs under
    /// the stream's lock, so messages written by several tasks keep the order in which
    /// their `append`s ran (`BatchFrameSequencer` numbers frames there).
    /// - Parameter sharedWait: how to wait for the stream's queue to drain, for writers that
    ///   share the stream (it has room for one waiting writer); nil: `waitForCapacity()`.
    /// - Throws: `TokenwireError` with `.cancelled` once the client has gone away.
    func writeFramed(sharedWait: (() async throws -> Void)? = nil, _ append: (inout ByteBuffer) -> Void) async throws {
        do {
            if let gate {
                // On an event loop: the loop's per-tick budget decides when to pause.
                let (outcome, count) = try outbound.enqueueCounting(turnBytes: .max, append)
                if outcome == .mustWait {
                    try await (sharedWait ?? waitForCapacity)()
                } else if gate.spend(messageNumber: count) {
                    await gate.park()
                } else if count == 2, gate.isQuiet {
                    // The call's first token (after StreamStart) is queued: on a quiet loop, step
                    // aside once so the flush already scheduled sends it before we make more.
                    await Task.yield()
                }
                return
            }
            switch try outbound.enqueue(append) {
            case .written: return
            case .mustYield: await Task.yield()
            case .mustWait: try await (sharedWait ?? waitForCapacity)()
            }
        } catch let error as HTTP2StreamClosedError {
            throw TokenwireError.cancelled("the client closed the call (\(error.reason))")
        } catch is CancellationError {
            throw TokenwireError.cancelled("the call was cancelled")
        }
    }

    /// Suspends until the stream's queue has drained to its low watermark. Only one task
    /// may wait at a time.
    /// - Throws: `HTTP2StreamClosedError` once the stream has closed; `CancellationError`.
    func waitForCapacity() async throws {
        try await outbound.waitForCapacity()
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
