import NIOCore
import Synchronization
import TokenwireCore
import TokenwireWire

/// One resumable Generate stream: its frames as first sent (`StreamFrameLog`) and the
/// readers attached to it (docs/ARCHITECTURE.md, "Resumable streams").
///
/// The producer (the call's `StreamingTokenSink`) hands each event to `append`, which
/// numbers it, logs the frame and queues it on every attached reader's writer under one
/// lock, so a reader that attaches (`attach`: the frames after its seq, then live ones)
/// sees every frame once, in order. The call that started the stream is reader 0; a resume
/// adds a reader on whatever connection it arrived on.
///
/// Where the log is: while the call that started the stream is its only reader (almost
/// every stream, for all its life), its writer's own queue keeps the frames it sent
/// (`GRPCResponseWriter.retainSentFrames`), so a frame is encoded once, into the queue, and
/// the log costs the token path nothing. The stream takes the frames over into its own
/// `StreamFrameLog` (one copy) when that reader leaves, when a second reader attaches, or
/// when the stream ends (for its retention); from then on each frame is logged and copied
/// to every reader. A stream mirrored to a resume store costs the token path no more: the
/// mirror copies each batch of new frames from wherever the log is (`takeMirrorBatch`).
///
/// Readers leave two ways. A lost connection *detaches*: with no reader left the producer
/// goes on into the log for `detachGrace` (stopping when the log is full), and is
/// cancelled if nobody attaches in that time. An explicit cancel (reset, deadline) by the
/// last reader cancels the producer at once.
///
/// - Important: Any thread: the state is behind one lock, and nothing is called out of
///   it but writers' non-blocking `enqueue`.
final class ResumableStream: Sendable {
    /// What the producer does after handing on a frame.
    enum Delivery {
        /// Produce the next frame.
        case goOn
        /// Reader 0's writer (the producing call's own, which its sink holds) asks for a
        /// turn or for its window: the common case, with no writer reference to hand on.
        case settleFirst(GRPCResponseWriter.Enqueued)
        /// A reader's writer asks for a turn or for its window (`GRPCResponseWriter.turn`).
        case settle(GRPCResponseWriter, GRPCResponseWriter.Enqueued)
        /// No reader is attached and the log is full: wait for one (`waitForReader`).
        case waitForReader
        /// The stream cancelled its producer (for this reason): stop.
        case stop(String)
    }

    /// What a resume gets from `attach`.
    enum Attachment {
        /// The frames after its seq are queued on its writer and live ones follow; the
        /// stream's end comes from `waitForEnd`.
        case attached(readerID: Int)
        /// The frames after its seq are queued; the stream has ended with this status.
        case ended(GRPCStatus)
        /// The frames wanted are not held (or never existed).
        case refused(GRPCStatus)
    }

    /// The token that names this stream in `StreamStart.resume_token`, and its text.
    let key: ResumeToken
    let token: String
    private let configuration: ResumeConfiguration
    private let memory: ResumeMemory
    /// Copies each frame and the end to the resume store, if there is one.
    private let mirror: ResumeMirror?
    /// Where the grace timer runs (the producer's loop).
    private let eventLoop: any EventLoop
    /// Told when the stream ends, with its log (finished): it keeps the frames for the
    /// retention, and this object goes with its call. (Weak, not a closure: a closure's
    /// context was one more allocation per call.)
    private weak let registry: ResumeRegistry?
    private let state: Mutex<State>
    /// Reader 0's writer: the producing call's (nil for a stream re-made from its ended
    /// record). A `let`, so that queueing on it per frame takes no reference.
    private let firstWriter: GRPCResponseWriter?

    /// A class, so that handing one on per frame costs one reference, not a writer's four.
    private final class Reader: Sendable {
        let id: Int
        let writer: GRPCResponseWriter

        init(id: Int, writer: GRPCResponseWriter) {
            self.id = id
            self.writer = writer
        }
    }

    private struct State {
        /// Numbers the producer's events (StreamStart first); under this lock so that a
        /// heartbeat from another task lands between two frames.
        var numbering: FrameNumbering
        /// The frames, once the stream keeps them itself (`inReaderQueue` is false).
        var log: StreamFrameLog
        /// Whether the frames are kept by the only reader's queue (reader 0's, the call
        /// that started the stream) rather than in `log`.
        var inReaderQueue: Bool
        var readers: [Reader]
        var nextReaderID = 1
        /// Resumed readers waiting for the stream's status.
        var endWaiters: [Int: CheckedContinuation<GRPCStatus, Never>] = [:]
        /// The detached producer, waiting for a reader to make room.
        var readerWaiter: CheckedContinuation<Void, any Error>?
        var graceTimer: Scheduled<Void>?
        /// Stops the producer's task; nil until the producer's call registered it.
        var cancelProducer: (@Sendable () -> Void)?
        /// Why the stream cancelled its producer, once it has (the status says so).
        var cancelReason: String?
        /// Whether the stream has ended. (The state holds no `ContinuousClock.Instant`: a
        /// type of a resilient library makes every access to the state go through runtime
        /// layout lookups, which cost the token path a measurable share.)
        var ended = false
        /// Bytes this stream counts in the server's total (`ResumeMemory`).
        var charged = 0
        /// Bytes appended (or, negative, evicted) not yet added to the total: it is shared
        /// by every loop, so it hears of a running stream every `chargeStep` bytes.
        var uncharged = 0
        /// The last frame handed to the resume store (`ResumeMirror` takes the frames after
        /// it in batches); while the log is in reader 0's queue, where the next one starts
        /// there (`GRPCResponseWriter.keptFramesEnd`); once it is in `log`, the bytes at the
        /// log's end not yet handed over.
        var mirroredSeq: UInt64 = 0
        var mirrorPosition = 0
        var mirrorTailBytes = 0
        /// The stream's end, once known and not yet handed to the resume store.
        var mirrorEnd: GRPCStatus?
        /// Whether the mirror has this stream on its list of streams with news.
        var mirrorQueued = false
        /// When the store's expiry of this stream's keys was last renewed.
        var mirrorRenewedAt: NIODeadline?
        /// Set when a batch was lost (Redis far behind): nothing more is mirrored, and a
        /// follower elsewhere meets the gap as OUT_OF_RANGE.
        var mirrorAbandoned = false
        /// Set at server shutdown: a reader that leaves now cancels instead of detaching.
        var isClosing = false
    }

    /// A stream whose first reader is the call that produces it; `start` (whose resume
    /// token is set to `token`) goes out before its first event.
    convenience init(
        token: ResumeToken, start: StreamStart, firstReader: GRPCResponseWriter, configuration: ResumeConfiguration,
        memory: ResumeMemory, mirror: ResumeMirror? = nil, eventLoop: any EventLoop,
        registry: ResumeRegistry?
    ) {
        let text = token.text
        var start = start
        start.resumeToken = text
        firstReader.retainSentFrames(maxBytes: configuration.maxStreamBytes)
        var state = State(
            numbering: FrameNumbering(start: start), log: StreamFrameLog(maxBytes: configuration.maxStreamBytes),
            inReaderQueue: true, readers: [Reader(id: 0, writer: firstReader)])
        if mirror != nil { state.mirrorPosition = firstReader.keptFramesEnd ?? 0 }
        self.init(
            key: token, text: text, firstWriter: firstReader, configuration: configuration, memory: memory,
            mirror: mirror, eventLoop: eventLoop, registry: registry, state: state)
    }

    /// A stream that has ended, over the frames the registry kept (`EndedStreams`): what a
    /// resume after the end attaches to.
    convenience init(
        token: ResumeToken, ended: EndedStreams.Ended, configuration: ResumeConfiguration, memory: ResumeMemory,
        eventLoop: any EventLoop
    ) {
        var log = StreamFrameLog(
            maxBytes: max(configuration.maxStreamBytes, ended.messages.readableBytes), messages: ended.messages,
            lastSeq: ended.lastSeq)
        log.finish(ended.status)
        self.init(
            key: token, text: token.text, firstWriter: nil, configuration: configuration, memory: memory,
            mirror: nil, eventLoop: eventLoop, registry: nil,
            state: State(
                numbering: FrameNumbering(start: StreamStart(streamID: "", model: "", provider: "")), log: log,
                inReaderQueue: false, readers: [], ended: true))
    }

    private init(
        key: ResumeToken, text: String, firstWriter: GRPCResponseWriter?, configuration: ResumeConfiguration,
        memory: ResumeMemory, mirror: ResumeMirror?, eventLoop: any EventLoop, registry: ResumeRegistry?, state: State
    ) {
        self.key = key
        self.token = text
        self.firstWriter = firstWriter
        self.configuration = configuration
        self.memory = memory
        self.mirror = mirror
        self.eventLoop = eventLoop
        self.registry = registry
        self.state = Mutex(state)
    }

    /// How often (in bytes appended or evicted) a running stream updates the server's total.
    static let chargeStep = 16 * 1024

    /// Whether an event other than a heartbeat has been appended.
    var hasDeliveredContent: Bool { state.withLock { $0.numbering.deliveredContent } }

    /// The call moves on to a fallback: StreamStart, if it has not gone out, names it.
    func route(to provider: String, model: String) {
        state.withLock { $0.numbering.route(to: provider, model: model) }
    }

    /// Whether the stream has ended.
    var hasEnded: Bool { state.withLock { $0.ended } }

    /// What the producing call's log line reports of the stream so far.
    func report(into fields: inout CallReport.Fields) {
        state.withLock { $0.numbering.report(into: &fields) }
    }

    /// Registers how to stop the producer (its call's task).
    func setProducer(cancel: @escaping @Sendable () -> Void) {
        let cancelNow = state.withLock { state -> Bool in
            state.cancelProducer = cancel
            return state.cancelReason != nil && !state.ended
        }
        if cancelNow { cancel() }
    }

    // MARK: The producer

    /// Numbers `event` (after StreamStart, for the first), logs each frame (encoded once,
    /// into the log) and queues its bytes on every attached reader. A reader whose stream
    /// is gone is detached.
    func append(_ event: TokenEvent) -> Delivery {
        var detached = false
        let delivery = state.withLock { state -> Delivery in
            guard !state.ended else { return .goOn }
            if let reason = state.cancelReason { return .stop(reason) }
            let (start, frame) = state.numbering.frames(for: event)
            if state.inReaderQueue {
                if let delivery = appendToReaderQueue(start, frame, &state) { return delivery }
                // Reader 0's stream is gone: the frames it kept and these are in the log now.
                state.readers.removeAll()
                detached = true
                return state.log.isFull && mirror == nil ? .waitForReader : .goOn
            }
            var slowest: (Reader, GRPCResponseWriter.Enqueued)?
            if let start { append(start, to: &state, slowest: &slowest, detached: &detached) }
            append(frame, to: &state, slowest: &slowest, detached: &detached)
            if abs(state.uncharged) >= Self.chargeStep { chargeMemory(&state) }
            if !state.readers.isEmpty, memory.runningExcess > 0 {
                // Over the server's total: this stream's readers have these frames queued.
                chargeMemory(&state)
                var freed = 0
                while memory.runningExcess - freed > 0, state.log.bytes > Self.chargeStep {
                    freed += state.log.evictOldest()
                }
                state.uncharged -= freed
                chargeMemory(&state)
            }
            if let slowest { return .settle(slowest.0.writer, slowest.1) }
            return state.log.isFull && mirror == nil ? .waitForReader : .goOn
        }
        if detached { readerLeft() }
        return delivery
    }

    /// While reader 0's queue keeps the frames: queues them there (encoded once, as a call
    /// without a log does). - Returns: nil when its stream is gone; the frames not queued
    /// are then appended to the log, which holds what the queue kept.
    private func appendToReaderQueue(_ start: TokenFrame?, _ frame: TokenFrame, _ state: inout State) -> Delivery? {
        // While the frames are in reader 0's queue, reader 0 is attached and alone. (Its
        // writer passed as `firstWriter!`, not bound to a local: a binding took a
        // reference per frame.)
        if let start {
            do {
                _ = try queue(start, on: firstWriter!, &state)
            } catch {
                logUnqueued(start, frame, into: &state)
                return nil
            }
        }
        let queued: GRPCResponseWriter.Enqueued
        do {
            queued = try queue(frame, on: firstWriter!, &state)
        } catch {
            logUnqueued(frame, into: &state)
            return nil
        }
        // The server's total hears of the queue's kept bytes every `chargeStep`, and only
        // then does the stream look at the total: the token path reads no counter that
        // every loop writes.
        if abs(queued.heldBytes - state.charged) >= Self.chargeStep {
            memory.add(queued.heldBytes - state.charged)
            state.charged = queued.heldBytes
            if memory.runningExcess > 0 {
                let dropped = firstWriter!.dropSentFrames()
                memory.add(-dropped)
                state.charged -= dropped
            }
        }
        return .settleFirst(queued)
    }

    /// Reader 0's queue refused `frames` (its stream is gone): the log takes over what the
    /// queue kept, then these.
    private func logUnqueued(_ frames: TokenFrame..., into state: inout State) {
        takeOverLog(&state, lastSeq: frames[0].seq - 1)
        for frame in frames {
            state.mirrorTailBytes += state.log.append(evicting: mirror != nil) { GRPCMessageFramer.appendMessage(frame, to: &$0) }.appended
        }
        noteMirrorNews(&state)
        state.uncharged = state.log.bytes - state.charged
    }

    /// Queues one frame on reader 0's queue, encoded straight into it.
    private func queue(_ frame: TokenFrame, on writer: GRPCResponseWriter, _ state: inout State) throws(TokenwireError) -> GRPCResponseWriter.Enqueued {
        let enqueued = try writer.enqueue(frame)
        noteMirrorNews(&state)
        return enqueued
    }

    /// A frame (or the end) was added: puts the stream on the resume store's list, once per
    /// batch. The frames themselves are copied when the batch is taken (`takeMirrorBatch`).
    private func noteMirrorNews(_ state: inout State) {
        guard let mirror, !state.mirrorQueued, !state.mirrorAbandoned else { return }
        state.mirrorQueued = true
        mirror.hasNews(self)
    }

    /// Moves the frames reader 0's queue kept into the stream's own log (the last of them
    /// is `lastSeq`); from now on every frame is logged here.
    /// `final`: the stream has ended (no frame follows).
    private func takeOverLog(_ state: inout State, lastSeq: UInt64, final: Bool = false) {
        guard state.inReaderQueue else { return }
        state.inReaderQueue = false
        let kept = state.readers[0].writer.takeSentFrames(final: final)
        state.log = StreamFrameLog(maxBytes: configuration.maxStreamBytes, messages: kept?.messages ?? ByteBuffer(), lastSeq: lastSeq)
        state.uncharged = state.log.bytes - state.charged
        if mirror != nil, let kept {
            // The frames not yet handed to the resume store are the log's newest bytes.
            state.mirrorTailBytes = kept.start + kept.messages.readableBytes - state.mirrorPosition
        }
    }

    /// Logs one frame and queues it on every attached reader, noting the reader that asks
    /// most of the producer (one whose queue is full, else the first).
    private func append(
        _ frame: TokenFrame, to state: inout State, slowest: inout (Reader, GRPCResponseWriter.Enqueued)?, detached: inout Bool
    ) {
        let attached = !state.readers.isEmpty
        // Detached, the log keeps every frame for a resume here, and the producer waits
        // when it is full; with a resume store the store has them too, and a follower on
        // another replica may be reading: the producer goes on.
        let (appended, evicted) = state.log.append(evicting: attached || mirror != nil) { buffer in
            GRPCMessageFramer.appendMessage(frame, to: &buffer)
        }
        state.uncharged += appended - evicted
        state.mirrorTailBytes += appended
        noteMirrorNews(&state)
        guard attached else { return }
        var index = 0
        while index < state.readers.count {
            let reader = state.readers[index]
            do {
                let enqueued = try state.log.withNewestFrame { bytes in try reader.writer.enqueue(bytes: bytes) }
                if slowest == nil || (enqueued.mustWaitForCapacity && !slowest!.1.mustWaitForCapacity) {
                    slowest = (reader, enqueued)
                }
                index += 1
            } catch {
                state.readers.remove(at: index)
                detached = true
            }
        }
    }

    private func chargeMemory(_ state: inout State) {
        memory.add(state.uncharged)
        state.charged += state.uncharged
        state.uncharged = 0
    }

    /// After `.waitForReader`: returns once a reader has attached (or the stream ended).
    /// - Throws: `CancellationError` when the producer's task is cancelled.
    func waitForReader() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock: a cancellation that came before this (its handler
                // found no waiter) is seen here, one that comes after finds the waiter.
                let ready = state.withLock { state -> Result<Bool, any Error> in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if !state.readers.isEmpty || state.ended || !state.log.isFull { return .success(true) }
                    state.readerWaiter = continuation
                    return .success(false)
                }
                switch ready {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.readerWaiter = nil }
                return state.readerWaiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// After a frame that asked the producer to wait: returns once every attached reader's
    /// queue has room (a reader that left meanwhile is not waited for), or, with none
    /// attached and the log full, once one attaches.
    /// - Throws: `CancellationError` when the producer's task is cancelled.
    func waitUntilReady() async throws {
        let writers = state.withLock { $0.readers.map(\.writer) }
        if writers.isEmpty { return try await waitForReader() }
        for writer in writers {
            do {
                try await writer.waitForCapacity()
            } catch {
                try Task.checkCancellation()
            }
        }
    }

    /// The producer ended with `status`. Readers waiting for the end get the stream's
    /// final status: `status`, or, when the stream cancelled its producer, why it did.
    /// - Returns: the final status.
    @discardableResult
    func finish(_ status: GRPCStatus) -> GRPCStatus {
        let (waiters, final, endedLog) = state.withLock { state -> ([CheckedContinuation<GRPCStatus, Never>], GRPCStatus, StreamFrameLog?) in
            if let ended = state.log.endStatus { return ([], ended, nil) }
            takeOverLog(&state, lastSeq: state.numbering.seq, final: true)
            // Every reader has its frames queued; the stream, kept for its retention,
            // need not keep their writers (and their connections' queues) alive.
            state.readers.removeAll()
            var final = status
            if let reason = state.cancelReason, status.code == .cancelled { final = GRPCStatus(code: .cancelled, message: reason) }
            state.log.finish(final)
            if mirror != nil, !state.mirrorAbandoned {
                state.mirrorEnd = final
                noteMirrorNews(&state)
            }
            // The registry charges what it keeps (`EndedStreams`); this object goes.
            memory.add(-state.charged)
            state.charged = 0
            state.uncharged = 0
            state.ended = true
            state.graceTimer?.cancel()
            state.graceTimer = nil
            state.cancelProducer = nil
            defer { state.endWaiters.removeAll() }
            return (Array(state.endWaiters.values), final, state.log)
        }
        if let endedLog { registry?.streamEnded(self, log: endedLog) }
        for waiter in waiters { waiter.resume(returning: final) }
        return final
    }

    /// What the resume store has not been sent yet: frames `firstSeq…` (their messages
    /// back to back) and the end after frame `lastSeq`, if the stream has ended.
    struct MirrorBatch {
        var firstSeq: UInt64
        var frames: ByteBuffer
        var end: (lastSeq: UInt64, status: GRPCStatus)?
        /// Whether this batch renews the keys' expiry (the first, then every 10 s).
        var renewsExpiry: Bool
    }

    /// Hands the mirror what it has not sent yet (nil: nothing, or mirroring was given up).
    func takeMirrorBatch() -> MirrorBatch? {
        state.withLock { state in
            state.mirrorQueued = false
            guard !state.mirrorAbandoned else { return nil }
            // The frames after the last batch, copied from where the log is: reader 0's
            // queue, or the stream's own log. Gone already (dropped under memory pressure,
            // or evicted from a full log before this batch): the store would have a gap.
            let frames: ByteBuffer?
            let lastSeq: UInt64
            if state.inReaderQueue {
                let copy = firstWriter!.copyKeptFrames(from: state.mirrorPosition)
                if let copy { state.mirrorPosition = copy.end }
                (frames, lastSeq) = (copy?.messages, state.numbering.seq)
            } else {
                let tail = state.mirrorTailBytes
                state.mirrorTailBytes = 0
                (frames, lastSeq) = (tail < 0 ? nil : state.log.copyOfNewest(bytes: tail), state.log.lastSeq)
            }
            guard let frames else {
                state.mirrorAbandoned = true
                return nil
            }
            let firstSeq = state.mirroredSeq + 1
            state.mirroredSeq = lastSeq
            let end = state.mirrorEnd.map { (lastSeq, $0) }
            state.mirrorEnd = nil
            if frames.readableBytes == 0, end == nil { return nil }
            let now = NIODeadline.now()
            let renews = state.mirrorRenewedAt.map { now - $0 >= .seconds(10) } ?? true
            if renews { state.mirrorRenewedAt = now }
            return MirrorBatch(firstSeq: firstSeq, frames: frames, end: end, renewsExpiry: renews)
        }
    }

    /// A batch of this stream never reached the store: stop mirroring it.
    func abandonMirror() {
        state.withLock { $0.mirrorAbandoned = true }
    }

    // MARK: Readers

    /// A resume: queues the frames after `after` on `writer`, then (if the stream goes on)
    /// attaches it for the live ones.
    func attach(_ writer: GRPCResponseWriter, after: UInt64) -> Attachment {
        let (attachment, waiter) = state.withLock { state -> (Attachment, CheckedContinuation<Void, any Error>?) in
            takeOverLog(&state, lastSeq: state.numbering.seq)
            switch state.log.read(after: after) {
            case .outOfRange(let oldest, let newest):
                return (.refused(Self.outOfRange(after: after, oldest: oldest, newest: newest, last: state.log.lastSeq)), nil)
            case .ended(let status):
                return (.ended(status), nil)
            case .caughtUp:
                break
            case .frames(let entries):
                for entry in entries {
                    do {
                        _ = try entry.message.withUnsafeReadableBytes { try writer.enqueue(bytes: $0) }
                    } catch {
                        return (.refused(GRPCStatus(code: .cancelled, message: "the resuming call closed during its replay")), nil)
                    }
                }
            }
            if let status = state.log.endStatus { return (.ended(status), nil) }
            let id = state.nextReaderID
            state.nextReaderID += 1
            state.readers.append(Reader(id: id, writer: writer))
            state.graceTimer?.cancel()
            state.graceTimer = nil
            defer { state.readerWaiter = nil }
            return (.attached(readerID: id), state.readerWaiter)
        }
        waiter?.resume()
        return attachment
    }

    /// Returns the stream's final status once it has ended; a cancelled waiting task gets
    /// CANCELLED (its reader stays attached until `detach` or `cancelReader`).
    func waitForEnd(readerID: Int) async -> GRPCStatus {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<GRPCStatus, Never>) in
                let ended = state.withLock { state -> GRPCStatus? in
                    if let status = state.log.endStatus { return status }
                    // See waitForReader: a cancellation before this found no waiter.
                    if Task.isCancelled { return GRPCStatus(code: .cancelled, message: "the call was cancelled") }
                    state.endWaiters[readerID] = continuation
                    return nil
                }
                if let ended { continuation.resume(returning: ended) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.endWaiters.removeValue(forKey: readerID) }
            waiter?.resume(returning: GRPCStatus(code: .cancelled, message: "the call was cancelled"))
        }
    }

    /// The reader's connection was lost: it leaves; with none left the producer goes on
    /// for the detach grace.
    func detach(readerID: Int) {
        let left = state.withLock { state -> Bool in
            guard let index = state.readers.firstIndex(where: { $0.id == readerID }) else { return false }
            takeOverLog(&state, lastSeq: state.numbering.seq)
            state.readers.remove(at: index)
            return true
        }
        if left { readerLeft() }
    }

    /// The reader cancelled (a reset, its deadline): it leaves; if it was the last, the
    /// producer is cancelled at once.
    func cancelReader(readerID: Int) {
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            takeOverLog(&state, lastSeq: state.numbering.seq)
            state.readers.removeAll { $0.id == readerID }
            guard state.readers.isEmpty, !state.ended, state.cancelReason == nil else { return nil }
            state.cancelReason = "the call was cancelled by its client"
            state.graceTimer?.cancel()
            state.graceTimer = nil
            return state.cancelProducer
        }
        cancel?()
    }

    /// Server shutdown: from now on a reader that leaves cancels; a detached producer is
    /// cancelled now.
    func close() {
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            state.isClosing = true
            guard state.readers.isEmpty, !state.ended else { return nil }
            state.cancelReason = "the server shut down while no client was attached to the stream"
            return state.cancelProducer
        }
        cancel?()
    }

    /// After a reader left: with none left, start the grace (or cancel at once).
    private func readerLeft() {
        let grace = configuration.detachGrace
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.readers.isEmpty, !state.ended, state.graceTimer == nil, state.cancelReason == nil else { return nil }
            if grace <= .zero || state.isClosing {
                state.cancelReason = state.isClosing
                    ? "the server shut down while no client was attached to the stream"
                    : "the client's connection was lost (resuming is off: --detach-grace 0)"
                return state.cancelProducer
            }
            state.graceTimer = eventLoop.scheduleTask(in: TimeAmount(grace)) { [self] in graceExpired() }
            return nil
        }
        cancel?()
    }

    private func graceExpired() {
        if let mirror {
            // A follower on another replica keeps the stream going while it reads.
            let eventLoop = self.eventLoop
            eventLoop.makeFutureWithTask { await mirror.hasRemoteReader(self.token) }.whenSuccess { [self] remote in
                if remote {
                    state.withLock { state in
                        guard state.graceTimer == nil, state.readers.isEmpty, !state.ended else { return }
                        state.graceTimer = eventLoop.scheduleTask(in: .seconds(1)) { [self] in graceExpired() }
                    }
                } else {
                    cancelAfterGrace()
                }
            }
            return
        }
        cancelAfterGrace()
    }

    private func cancelAfterGrace() {
        let grace = configuration.detachGrace
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            state.graceTimer = nil
            guard state.readers.isEmpty, !state.ended, state.cancelReason == nil else { return nil }
            state.cancelReason = "the client's connection was lost and nobody resumed the stream within the detach grace of \(grace) (--detach-grace)"
            return state.cancelProducer
        }
        cancel?()
    }

    private static func outOfRange(after: UInt64, oldest: UInt64?, newest: UInt64?, last: UInt64) -> GRPCStatus {
        if after > last {
            return GRPCStatus(
                code: .outOfRange,
                message: "resume_after_seq \(after) is past the last frame of the stream, seq \(last)")
        }
        let held = if let oldest, let newest { "seq \(oldest) to \(newest) are" } else { "none are" }
        return GRPCStatus(
            code: .outOfRange,
            message: "the frames after seq \(after) are no longer held (\(held); --resume-buffer bounds each stream)")
    }
}
