import NIOCore

/// What a writer must do after queueing bytes on an `HTTP2OutboundStream`.
public enum HTTP2WriteOutcome: Sendable, Equatable {
    /// Nothing: write on.
    case written
    /// The queue is above the high watermark: `await waitForCapacity()` before writing more.
    case mustWait
    /// The writer has queued `writerYieldInterval` bytes without waiting: `await Task.yield()`
    /// so other calls get a turn.
    case mustYield
}

/// One stream's outbound queue as a value: the bytes for its DATA frames, how far the
/// stream has got (open, finished with trailers to follow, closed), and the writers
/// waiting for the queue to drain.
///
/// Every event is a `mutating` method that returns what its caller must do (schedule a
/// flush, submit HEADERS, resume or fail waiters); the state never calls out. The
/// `HTTP2OutboundStream` that owns it runs those actions; tests drive it as a value.
///
/// `Waiter` is what a suspended writer leaves behind (a continuation in the stream; any
/// value in tests).
struct HTTP2OutboundStreamState<Waiter> {
    enum Phase {
        case open
        /// No more data; trailers (if any) follow the last DATA frame.
        case finished(trailers: [HTTP2Header]?)
        case closed(HTTP2StreamClosedError)
    }

    /// The queue's bounds, from `HTTP2Configuration`.
    struct Limits {
        /// Above this many queued bytes a writer must wait.
        var highWatermark: Int
        /// A waiting writer resumes once the queue is down to this many bytes.
        var lowWatermark: Int
        /// After this many bytes queued without waiting a writer must yield.
        var yieldInterval: Int
    }

    /// Sent bytes at the front of the queue's buffer worth reclaiming.
    static var reclaimThreshold: Int { 16 * 1024 }

    let limits: Limits
    private(set) var buffer: ByteBuffer
    private(set) var phase: Phase = .open
    private(set) var streamID: HTTP2StreamID = 0
    /// A flush of this stream is scheduled on the loop and has not run yet.
    private var flushPending = false
    /// The stream's HEADERS are submitted (a client's with its request; a server's with
    /// its first flush).
    private var headersSubmitted = false
    /// Writers suspended until the queue drains, by the id each was given.
    private var waiters: [UInt64: Waiter] = [:]
    private var nextWaiterID: UInt64 = 0
    /// Bytes queued since the writer last waited or yielded.
    private var bytesSinceYield = 0
    /// Messages (enqueue calls) so far.
    private(set) var enqueueCount = 0
    /// Bytes queued so far (sent or not), for metrics.
    private(set) var queuedTotal = 0
    /// Sent messages kept in the buffer for a later `takeRetained` (a resumable stream's
    /// log while it has one reader); nil: sent bytes are reclaimed.
    private(set) var retention: Retention?

    /// How a stream keeps its sent messages: the newest, up to `maxBytes` with the unsent
    /// ones, whole messages only (`messageLength` finds where each ends).
    struct Retention: Sendable {
        let maxBytes: Int
        /// The length of the message that starts at this index of the buffer (nil: the
        /// bytes there are not a whole message yet).
        let messageLength: @Sendable (ByteBuffer, Int) -> Int?
        /// Where the oldest kept message starts in the buffer.
        var start: Int
        /// Messages dropped from the front so far.
        var evicted = 0
        /// Bytes moved out of the buffer's front since retention began: `discarded` plus an
        /// index of the buffer is a position in the stream's messages that never changes
        /// (`copyRetained(from:)`).
        var discarded = 0
    }

    init(limits: Limits, buffer: ByteBuffer) {
        self.limits = limits
        self.buffer = buffer
    }

    var isOpen: Bool {
        if case .open = phase { true } else { false }
    }

    var waiterCount: Int { waiters.count }

    /// Bytes the queue holds: unsent, and sent ones kept (`retention`).
    var heldBytes: Int { buffer.writerIndex - (retention?.start ?? buffer.readerIndex) }

    // MARK: Retention (a resumable stream's log)

    /// From now on, keeps sent messages (see `Retention`) instead of reclaiming them.
    mutating func retainSentMessages(maxBytes: Int, messageLength: @escaping @Sendable (ByteBuffer, Int) -> Int?) {
        guard retention == nil else { return }
        retention = Retention(maxBytes: maxBytes, messageLength: messageLength, start: buffer.readerIndex)
    }

    /// Stops keeping sent messages and hands over every message held, sent and unsent
    /// (nil when nothing was kept), with the number dropped from the front before them and
    /// the position of the first (as `retainedEnd` counts).
    /// Once the stream has finished or closed its bytes never change again: the messages
    /// handed over share the queue's storage (no copy); before that, they are a copy,
    /// unless the writer says (`final`) it will queue nothing more: they share the storage
    /// then too, and the queue keeps its sent bytes (a reclaim would copy them).
    mutating func takeRetained(final: Bool = false) -> (messages: ByteBuffer, evicted: Int, start: Int)? {
        guard let kept = retention else { return nil }
        retention = nil
        let start = kept.discarded + kept.start
        // The kept bytes lie before the reader index, where `getSlice` does not reach: a
        // view from their start (sharing the storage) does.
        var view = buffer
        view.moveReaderIndex(to: kept.start)
        switch phase {
        case .open: if final { return (view, kept.evicted, start) }
        case .finished: return (view, kept.evicted, start)
        case .closed:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return (view, kept.evicted, start)
        }
        var messages = ByteBufferAllocator().buffer(capacity: view.readableBytes)
        messages.writeImmutableBuffer(view)
        reclaimSentBytes()
        return (messages, kept.evicted, start)
    }

    /// Where the next message queued will start, as a position that compaction does not
    /// change (see `Retention.discarded`); nil when no messages are kept.
    var retainedEnd: Int? { retention.map { $0.discarded + buffer.writerIndex } }

    /// A copy of the messages held (sent or not) from `position` (a `retainedEnd` seen
    /// earlier) to the end, and the position after them; nil when no messages are kept or
    /// some from `position` on have been dropped.
    func copyRetained(from position: Int) -> (messages: ByteBuffer, end: Int)? {
        guard let kept = retention else { return nil }
        let index = position - kept.discarded
        guard index >= kept.start, index <= buffer.writerIndex else { return nil }
        var messages = ByteBufferAllocator().buffer(capacity: buffer.writerIndex - index)
        _ = buffer.withVeryUnsafeBytes { bytes in
            messages.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<buffer.writerIndex]))
        }
        return (messages, kept.discarded + buffer.writerIndex)
    }

    /// Drops every kept message that has been sent (server-wide memory pressure).
    /// - Returns: the bytes dropped.
    mutating func dropRetained() -> Int {
        guard var kept = retention else { return 0 }
        let before = kept.start
        while let length = kept.messageLength(buffer, kept.start), kept.start + length <= buffer.readerIndex {
            kept.start += length
            kept.evicted += 1
        }
        retention = kept
        return kept.start - before
    }

    // MARK: Writer events (any thread, under the owner's lock)

    /// What a writer must do after `enqueue`.
    struct EnqueueAction: Equatable {
        var outcome: HTTP2WriteOutcome
        /// How many messages the stream has taken so far (1 for the first).
        var count: Int
        /// Bytes the queue holds: unsent, and sent ones kept (`retention`).
        var heldBytes: Int
        /// Schedule a flush of this stream on its loop (the first write since the last flush).
        var scheduleFlush: Bool
    }

    /// Appends bytes for the peer.
    /// - Parameters:
    ///   - turnBytes: bytes after which to answer `.mustYield` (nil: `limits.yieldInterval`).
    ///   - body: appends to the queue.
    /// - Throws: once the stream has finished or closed (`body` does not run).
    mutating func enqueue(
        turnBytes: Int?, _ body: (inout ByteBuffer) -> Void
    ) throws(HTTP2StreamClosedError) -> EnqueueAction {
        switch phase {
        case .open: break
        case .finished: throw HTTP2StreamClosedError(errorCode: .noError, reason: "the stream has already finished")
        case .closed(let error): throw error
        }
        let before = buffer.readableBytes
        body(&buffer)
        enqueueCount += 1
        queuedTotal += buffer.readableBytes - before
        bytesSinceYield += buffer.readableBytes - before
        let scheduleFlush = markFlushPending()
        if buffer.readableBytes >= limits.highWatermark {
            bytesSinceYield = 0
            return EnqueueAction(outcome: .mustWait, count: enqueueCount, heldBytes: heldBytes, scheduleFlush: scheduleFlush)
        }
        if bytesSinceYield >= (turnBytes ?? limits.yieldInterval) {
            bytesSinceYield = 0
            return EnqueueAction(outcome: .mustYield, count: enqueueCount, heldBytes: heldBytes, scheduleFlush: scheduleFlush)
        }
        return EnqueueAction(outcome: .written, count: enqueueCount, heldBytes: heldBytes, scheduleFlush: scheduleFlush)
    }

    /// Ends the stream's data; `trailers` go out after the last DATA frame. Finishing a
    /// finished or closed stream does nothing.
    /// - Returns: whether to schedule a flush.
    mutating func finish(trailers: [HTTP2Header]?) -> Bool {
        finish(trailers: trailers) { _ in }
    }

    /// `finish`, after appending what `body` writes (it does not run if the stream has
    /// already finished or closed).
    mutating func finish(trailers: [HTTP2Header]?, appending body: (inout ByteBuffer) -> Void) -> Bool {
        guard case .open = phase else { return false }
        body(&buffer)
        phase = .finished(trailers: trailers)
        return markFlushPending()
    }

    /// A new id for a writer about to wait.
    mutating func makeWaiterID() -> UInt64 {
        defer { nextWaiterID += 1 }
        return nextWaiterID
    }

    /// What a writer that asked to wait for capacity must do.
    enum WaitAction {
        /// The queue is already at or below the low watermark: go on.
        case resume
        /// The stream is closed, or the writer's task was cancelled.
        case fail(any Error)
        /// The waiter is kept; a later `read` or `close` hands it back.
        case suspended
    }

    /// A writer asks to wait until the queue drains to the low watermark.
    mutating func wait(id: UInt64, _ waiter: Waiter, isCancelled: Bool) -> WaitAction {
        if case .closed(let error) = phase { return .fail(error) }
        if isCancelled { return .fail(CancellationError()) }
        if buffer.readableBytes <= limits.lowWatermark { return .resume }
        waiters[id] = waiter
        return .suspended
    }

    /// A waiting writer's task was cancelled.
    /// - Returns: its waiter, to fail with `CancellationError` (nil if it already left).
    mutating func cancelWait(id: UInt64) -> Waiter? {
        waiters.removeValue(forKey: id)
    }

    // MARK: Loop events

    /// Records the stream id once nghttp2 has assigned it (client) or when registered (server).
    mutating func attach(streamID: HTTP2StreamID, headersSubmitted: Bool) {
        self.streamID = streamID
        self.headersSubmitted = headersSubmitted
    }

    /// What the connection must submit to nghttp2 when this stream's flush runs.
    enum FlushAction: Equatable {
        /// Not registered with a stream id yet: nothing.
        case none
        /// HEADERS are out: let nghttp2 ask for DATA again.
        case resumeData(HTTP2StreamID)
        /// Submit the response's HEADERS with a data provider.
        case submitHeaders(HTTP2StreamID)
        /// The stream finished before writing anything: submit the headers and these
        /// trailers as one HEADERS frame with END_STREAM (trailers-only).
        case submitTrailersOnly(HTTP2StreamID, trailers: [HTTP2Header]?)
    }

    /// The stream's scheduled flush runs on its loop.
    mutating func flush() -> FlushAction {
        flushPending = false
        guard streamID != 0 else { return .none }
        guard !headersSubmitted else { return .resumeData(streamID) }
        headersSubmitted = true
        if case .finished(let trailers) = phase, buffer.readableBytes == 0 {
            return .submitTrailersOnly(streamID, trailers: trailers)
        }
        return .submitHeaders(streamID)
    }

    /// What nghttp2's data source answers.
    enum ReadResult: Equatable {
        /// `count` bytes copied; with `endOfData` they are the last, and `trailers` (if
        /// any) must be submitted after them.
        case data(count: Int, endOfData: Bool, trailers: [HTTP2Header]?)
        /// Nothing queued yet: defer until the next flush resumes the stream.
        case deferred
        /// The stream is gone.
        case closed
    }

    /// nghttp2 asks for DATA: copies up to `destination.count` bytes into it.
    /// - Returns: the answer for nghttp2, and the waiters to resume (the queue fell to the
    ///   low watermark).
    mutating func read(into destination: UnsafeMutableRawBufferPointer) -> (ReadResult, resume: [Waiter]) {
        let count = min(destination.count, buffer.readableBytes)
        var resume: [Waiter] = []
        if count > 0 {
            buffer.withUnsafeReadableBytes { source in
                destination.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: count)
            }
            buffer.moveReaderIndex(forwardBy: count)
            reclaimSentBytes()
            if buffer.readableBytes <= limits.lowWatermark, !waiters.isEmpty {
                resume = Array(waiters.values)
                waiters.removeAll()
            }
        }
        switch phase {
        case .open:
            return (count > 0 ? .data(count: count, endOfData: false, trailers: nil) : .deferred, resume)
        case .finished(let trailers):
            let drained = buffer.readableBytes == 0
            if drained {
                phase = .closed(HTTP2StreamClosedError(errorCode: .noError, reason: "the stream has finished"))
            }
            return (.data(count: count, endOfData: drained, trailers: drained ? trailers : nil), resume)
        case .closed:
            return (.closed, resume)
        }
    }

    /// The stream is gone (reset, connection closed, or ended early): drop the queue.
    /// - Returns: the waiters to fail with `error`.
    mutating func close(_ error: HTTP2StreamClosedError) -> [Waiter] {
        if case .closed = phase {} else { phase = .closed(error) }
        // Kept messages stay until `takeRetained` (the stream's log is in them). Otherwise
        // the queue is dropped by moving past it: its storage may be shared with a log.
        if retention == nil { buffer.moveReaderIndex(to: buffer.writerIndex) }
        defer { waiters.removeAll() }
        return Array(waiters.values)
    }

    // MARK: Helpers

    /// - Returns: whether this is the first output since the last flush (then one must be scheduled).
    private mutating func markFlushPending() -> Bool {
        defer { flushPending = true }
        return !flushPending
    }

    /// A queue that never runs dry (a client slower than its producer) would otherwise keep
    /// every byte ever sent: ByteBuffer grows at its end and never reuses its front.
    /// Moving the unsent rest costs no more than what was sent. A retaining queue drops
    /// whole sent messages past its bound first. Nothing is moved once the stream has
    /// finished: it writes nothing more, and its storage may be shared with a log
    /// (`takeRetained`), which a move would copy.
    private mutating func reclaimSentBytes() {
        let isOpen = isOpen
        if var kept = retention {
            while buffer.writerIndex - kept.start > kept.maxBytes, let length = kept.messageLength(buffer, kept.start),
                kept.start + length <= buffer.readerIndex {
                kept.start += length
                kept.evicted += 1
            }
            if isOpen, kept.start >= Self.reclaimThreshold, kept.start >= buffer.writerIndex - kept.start {
                let sent = buffer.readerIndex - kept.start
                buffer.moveReaderIndex(to: kept.start)
                buffer.discardReadBytes()
                buffer.moveReaderIndex(forwardBy: sent)
                kept.discarded += kept.start
                kept.start = 0
            }
            retention = kept
        } else if !isOpen {
            return
        } else if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex >= Self.reclaimThreshold, buffer.readerIndex >= buffer.readableBytes {
            buffer.discardReadBytes()
        }
    }
}

extension HTTP2OutboundStreamState: Sendable where Waiter: Sendable {}
