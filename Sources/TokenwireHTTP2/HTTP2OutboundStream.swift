public import NIOCore
import Synchronization

/// Thrown to a writer whose stream has closed (the peer reset it, the connection went
/// away, or the stream already ended).
public struct HTTP2StreamClosedError: Error, Sendable, CustomStringConvertible {
    /// The RST_STREAM or GOAWAY code that closed the stream, if there was one.
    public var errorCode: HTTP2ErrorCode
    /// What happened, for logs.
    public var reason: String

    public var description: String { "stream closed (\(errorCode)): \(reason)" }
}

/// The bytes queued for one stream's DATA frames.
///
/// Any thread may write; the connection's event loop drains it when nghttp2 asks for
/// DATA (which it does only while the peer's flow-control window is open). A writer that
/// gets ahead of the peer by more than the high watermark suspends until the queue falls
/// to the low watermark: HTTP/2 flow control becomes the producer's backpressure.
///
/// Writes made together go out together: the first write after a drain schedules one
/// flush on the event loop, later writes before it runs just add bytes.
///
/// The decisions live in `HTTP2OutboundStreamState`, a value behind this class's lock;
/// this class runs the actions it returns (schedule a flush, resume or fail writers)
/// outside the lock.
public final class HTTP2OutboundStream: Sendable {
    typealias State = HTTP2OutboundStreamState<CheckedContinuation<Void, any Error>>
    public typealias WriteOutcome = HTTP2WriteOutcome
    typealias ReadResult = State.ReadResult

    /// The HEADERS that start this stream's response (server) or request (client).
    public let headers: [HTTP2Header]
    private let state: Mutex<State>
    private let scheduler: HTTP2FlushScheduler

    init(headers: [HTTP2Header], scheduler: HTTP2FlushScheduler, configuration: HTTP2Configuration) {
        self.headers = headers
        self.scheduler = scheduler
        let limits = State.Limits(
            highWatermark: configuration.outboundHighWatermark,
            lowWatermark: configuration.outboundLowWatermark,
            yieldInterval: configuration.writerYieldInterval)
        self.state = Mutex(State(limits: limits, buffer: ByteBufferAllocator().buffer(capacity: 256)))
    }

    /// Appends bytes for the peer without suspending; the hot path of every token.
    ///
    /// - Parameter body: appends to the queue; runs under the stream's lock, so keep it short.
    /// - Returns: what the writer must do before its next write.
    /// - Throws: `HTTP2StreamClosedError` once the stream has closed or finished.
    /// - Parameter turnBytes: bytes after which to answer `.mustYield` (default: the
    ///   configuration's `writerYieldInterval`).
    public func enqueue(turnBytes: Int? = nil, _ body: (inout ByteBuffer) -> Void) throws -> WriteOutcome {
        try enqueueCounting(turnBytes: turnBytes, body).outcome
    }

    /// `enqueue`, also returning how many messages this stream has taken so far
    /// (1 for the first) and the bytes it holds (unsent, and sent ones kept).
    public func enqueueCounting(
        turnBytes: Int? = nil, _ body: (inout ByteBuffer) -> Void
    ) throws -> (outcome: WriteOutcome, count: Int, heldBytes: Int) {
        let action = try state.withLock { state throws(HTTP2StreamClosedError) in
            try state.enqueue(turnBytes: turnBytes, body)
        }
        if action.scheduleFlush { scheduler.schedule(self) }
        return (action.outcome, action.count, action.heldBytes)
    }

    // MARK: Retention (a resumable stream's log while it has one reader)

    /// From now on, keeps sent messages in the queue, the newest up to `maxBytes` with the
    /// unsent ones, whole messages only (`messageLength` gives the length of the message
    /// at an index of the buffer, nil if it is not whole yet), until `takeRetained`. A
    /// closed stream keeps them too. The stream's own log then costs its writer nothing
    /// per message.
    public func retainSentMessages(maxBytes: Int, messageLength: @escaping @Sendable (ByteBuffer, Int) -> Int?) {
        state.withLock { $0.retainSentMessages(maxBytes: maxBytes, messageLength: messageLength) }
    }

    /// Stops keeping sent messages and returns a copy of every message held (sent and
    /// unsent, oldest first), how many were dropped before them and the first one's
    /// position (as `retainedEnd` counts); nil if none were kept.
    /// With `final`, the writer promises to queue no more messages: they are then shared
    /// with the queue rather than copied.
    public func takeRetained(final: Bool = false) -> (messages: ByteBuffer, evicted: Int, start: Int)? {
        state.withLock { $0.takeRetained(final: final) }
    }

    /// Where the next message queued will start in the kept messages (a position that
    /// never changes); nil when none are kept.
    public var retainedEnd: Int? {
        state.withLock { $0.retainedEnd }
    }

    /// A copy of the kept messages from `position` (a `retainedEnd` seen earlier) on, and
    /// the position after them; nil when none are kept or some of them were dropped.
    public func copyRetained(from position: Int) -> (messages: ByteBuffer, end: Int)? {
        state.withLock { $0.copyRetained(from: position) }
    }

    /// Drops the kept messages that have been sent. - Returns: the bytes dropped.
    public func dropRetained() -> Int {
        state.withLock { $0.dropRetained() }
    }

    /// Appends bytes for the peer; suspends while the queue is above the high watermark,
    /// and yields the thread every `writerYieldInterval` bytes (a producer that never
    /// waits would otherwise hold its thread until its queue is full, and a new call's
    /// first token would wait behind all such producers).
    ///
    /// - Throws: `HTTP2StreamClosedError` once the stream has closed or finished;
    ///   `CancellationError` if the task is cancelled while waiting for the peer.
    public func write(_ body: (inout ByteBuffer) -> Void) async throws {
        switch try enqueue(body) {
        case .written: break
        case .mustWait: try await waitForCapacity()
        case .mustYield: await Task.yield()
        }
    }

    /// Appends bytes and ends the stream's data in one step, without waiting for the peer
    /// (for a request or response that is a single message).
    public func writeAndFinish(_ body: (inout ByteBuffer) -> Void, trailers: [HTTP2Header]?) {
        if state.withLock({ $0.finish(trailers: trailers, appending: body) }) { scheduler.schedule(self) }
    }

    /// Ends the stream's data; `trailers` go out after the last DATA frame (nil: the last
    /// DATA frame carries END_STREAM). If nothing was written and the response has not
    /// started, the headers and trailers go out as one HEADERS frame (trailers-only).
    /// Finishing a finished or closed stream does nothing.
    public func finish(trailers: [HTTP2Header]?) {
        if state.withLock({ $0.finish(trailers: trailers) }) { scheduler.schedule(self) }
    }

    /// The queue buffer's allocated size, for tests of its bound.
    var bufferCapacity: Int { state.withLock { $0.buffer.capacity } }

    /// Writers waiting for capacity, for tests.
    var waiterCount: Int { state.withLock { $0.waiterCount } }

    /// Messages (enqueue calls) and bytes queued so far, sent or not.
    public var totals: (messages: Int, bytes: Int) { state.withLock { ($0.enqueueCount, $0.queuedTotal) } }

    /// Bytes queued and not yet taken by nghttp2.
    public var queuedBytes: Int { state.withLock { $0.buffer.readableBytes } }

    /// Whether the stream can still take writes.
    public var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Suspends until the queue has drained to the low watermark (or the stream closed).
    /// Any number of writers may wait; all resume together.
    public func waitForCapacity() async throws {
        let id = state.withLock { $0.makeWaiterID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                switch state.withLock({ $0.wait(id: id, continuation, isCancelled: Task.isCancelled) }) {
                case .resume: continuation.resume()
                case .fail(let error): continuation.resume(throwing: error)
                case .suspended: break
                }
            }
        } onCancel: {
            state.withLock { $0.cancelWait(id: id) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: Event-loop side

    /// Called on the event loop when a flush for this stream runs. Returns what to submit.
    func takeFlushAction() -> State.FlushAction {
        state.withLock { $0.flush() }
    }

    /// Records the stream id once nghttp2 has assigned it (client) or when registered (server).
    func attach(streamID: HTTP2StreamID, headersSubmitted: Bool) {
        state.withLock { $0.attach(streamID: streamID, headersSubmitted: headersSubmitted) }
    }

    var streamID: HTTP2StreamID { state.withLock { $0.streamID } }

    /// nghttp2's data source: copies up to `destination.count` bytes.
    func read(into destination: UnsafeMutableRawBufferPointer) -> ReadResult {
        let (result, resume) = state.withLock { $0.read(into: destination) }
        for waiter in resume { waiter.resume() }
        return result
    }

    /// The stream is gone: fail the waiting writers and every later write.
    func close(_ error: HTTP2StreamClosedError) {
        for waiter in state.withLock({ $0.close(error) }) { waiter.resume(throwing: error) }
    }
}
