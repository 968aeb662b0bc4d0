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
public final class HTTP2OutboundStream: Sendable {
    enum Phase {
        case open
        /// No more data; trailers (if any) follow the last DATA frame.
        case finished(trailers: [HTTP2Header]?)
        case closed(HTTP2StreamClosedError)
    }

    struct State {
        var buffer: ByteBuffer
        var phase: Phase = .open
        var streamID: HTTP2StreamID = 0
        var flushPending = false
        var headersSubmitted = false
        /// Writers suspended until the queue drains, by the id each was given.
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
        /// Bytes written since the writer last gave up its thread.
        var bytesSinceYield = 0
        /// Messages (enqueue calls) so far.
        var enqueueCount = 0
    }

    enum ReadResult {
        case data(count: Int, endOfData: Bool, trailers: [HTTP2Header]?)
        case deferred
        case closed
    }

    /// The HEADERS that start this stream's response (server) or request (client).
    public let headers: [HTTP2Header]
    private let state: Mutex<State>
    private let scheduler: HTTP2FlushScheduler
    private let highWatermark: Int
    private let lowWatermark: Int
    private let yieldInterval: Int

    init(headers: [HTTP2Header], scheduler: HTTP2FlushScheduler, configuration: HTTP2Configuration) {
        self.headers = headers
        self.scheduler = scheduler
        self.highWatermark = configuration.outboundHighWatermark
        self.lowWatermark = configuration.outboundLowWatermark
        self.yieldInterval = configuration.writerYieldInterval
        self.state = Mutex(State(buffer: ByteBufferAllocator().buffer(capacity: 256)))
    }

    /// What a writer must do after `enqueue`.
    public enum WriteOutcome: Sendable, Equatable {
        /// Nothing: write on.
        case written
        /// The queue is above the high watermark: `await waitForCapacity()` before writing more.
        case mustWait
        /// The writer has queued `writerYieldInterval` bytes without waiting: `await Task.yield()`
        /// so other calls get a turn.
        case mustYield
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
    /// (1 for the first).
    public func enqueueCounting(
        turnBytes: Int? = nil, _ body: (inout ByteBuffer) -> Void
    ) throws -> (outcome: WriteOutcome, count: Int) {
        let yieldInterval = turnBytes ?? self.yieldInterval
        let (schedule, outcome, count) = try state.withLock { state throws -> (Bool, WriteOutcome, Int) in
            switch state.phase {
            case .open: break
            case .finished: throw HTTP2StreamClosedError(errorCode: .noError, reason: "the stream has already finished")
            case .closed(let error): throw error
            }
            let before = state.buffer.readableBytes
            body(&state.buffer)
            state.enqueueCount += 1
            let count = state.enqueueCount
            state.bytesSinceYield += state.buffer.readableBytes - before
            let schedule = !state.flushPending
            state.flushPending = true
            if state.buffer.readableBytes >= highWatermark {
                state.bytesSinceYield = 0
                return (schedule, .mustWait, count)
            }
            if state.bytesSinceYield >= yieldInterval {
                state.bytesSinceYield = 0
                return (schedule, .mustYield, count)
            }
            return (schedule, .written, count)
        }
        if schedule { scheduler.schedule(self) }
        return (outcome, count)
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
        let schedule = state.withLock { state -> Bool in
            guard case .open = state.phase else { return false }
            body(&state.buffer)
            state.phase = .finished(trailers: trailers)
            let schedule = !state.flushPending
            state.flushPending = true
            return schedule
        }
        if schedule { scheduler.schedule(self) }
    }

    /// Ends the stream's data; `trailers` go out after the last DATA frame (nil: the last
    /// DATA frame carries END_STREAM). If nothing was written and the response has not
    /// started, the headers and trailers go out as one HEADERS frame (trailers-only).
    /// Finishing a finished or closed stream does nothing.
    public func finish(trailers: [HTTP2Header]?) {
        let schedule = state.withLock { state -> Bool in
            guard case .open = state.phase else { return false }
            state.phase = .finished(trailers: trailers)
            let schedule = !state.flushPending
            state.flushPending = true
            return schedule
        }
        if schedule { scheduler.schedule(self) }
    }

    /// Sent bytes at the front of the queue's buffer worth reclaiming.
    static let reclaimThreshold = 16 * 1024

    /// The queue buffer's allocated size, for tests of its bound.
    var bufferCapacity: Int { state.withLock { $0.buffer.capacity } }

    /// Writers waiting for capacity, for tests.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Bytes queued and not yet taken by nghttp2.
    public var queuedBytes: Int { state.withLock { $0.buffer.readableBytes } }

    /// Whether the stream can still take writes.
    public var isOpen: Bool {
        state.withLock { if case .open = $0.phase { true } else { false } }
    }

    /// Suspends until the queue has drained to the low watermark (or the stream closed).
    /// Any number of writers may wait; all resume together.
    public func waitForCapacity() async throws {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if case .closed(let error) = state.phase { return .failure(error) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.buffer.readableBytes <= lowWatermark { return .success(()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in state.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    // MARK: Event-loop side

    /// Called on the event loop when a flush for this stream runs. Returns what to submit.
    func takeFlushRequest() -> (streamID: HTTP2StreamID, needsHeaders: Bool, trailersOnly: [HTTP2Header]??) {
        state.withLock { state in
            state.flushPending = false
            guard !state.headersSubmitted else { return (state.streamID, false, nil) }
            state.headersSubmitted = true
            if case .finished(let trailers) = state.phase, state.buffer.readableBytes == 0 {
                return (state.streamID, true, .some(trailers))
            }
            return (state.streamID, true, nil)
        }
    }

    /// Records the stream id once nghttp2 has assigned it (client) or when registered (server).
    func attach(streamID: HTTP2StreamID, headersSubmitted: Bool) {
        state.withLock {
            $0.streamID = streamID
            $0.headersSubmitted = headersSubmitted
        }
    }

    var streamID: HTTP2StreamID { state.withLock { $0.streamID } }

    /// nghttp2's data source: copies up to `destination.count` bytes.
    func read(into destination: UnsafeMutableRawBufferPointer) -> ReadResult {
        var waitersToResume: [CheckedContinuation<Void, any Error>] = []
        let result = state.withLock { state -> ReadResult in
            let count = min(destination.count, state.buffer.readableBytes)
            if count > 0 {
                state.buffer.withUnsafeReadableBytes { source in
                    destination.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: count)
                }
                state.buffer.moveReaderIndex(forwardBy: count)
                if state.buffer.readableBytes == 0 {
                    state.buffer.clear()
                } else if state.buffer.readerIndex >= Self.reclaimThreshold,
                    state.buffer.readerIndex >= state.buffer.readableBytes
                {
                    // A queue that never runs dry (a client slower than its producer) would
                    // otherwise keep every byte ever sent: ByteBuffer grows at its end and never
                    // reuses its front. Moving the unsent rest costs no more than what was sent.
                    state.buffer.discardReadBytes()
                }
                if state.buffer.readableBytes <= lowWatermark, !state.waiters.isEmpty {
                    waitersToResume = Array(state.waiters.values)
                    state.waiters.removeAll()
                }
            }
            let drained = state.buffer.readableBytes == 0
            switch state.phase {
            case .open:
                return count > 0 ? .data(count: count, endOfData: false, trailers: nil) : .deferred
            case .finished(let trailers):
                if drained {
                    state.phase = .closed(HTTP2StreamClosedError(errorCode: .noError, reason: "the stream has finished"))
                }
                return .data(count: count, endOfData: drained, trailers: trailers)
            case .closed:
                return .closed
            }
        }
        for waiter in waitersToResume { waiter.resume() }
        return result
    }

    /// The stream is gone: fail the waiting writers and every later write.
    func close(_ error: HTTP2StreamClosedError) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            if case .closed = state.phase {} else { state.phase = .closed(error) }
            state.buffer.clear()
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}
