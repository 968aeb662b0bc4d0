import Synchronization
import TokenwireCore

/// Counts the server's slots (provider calls in progress, see `CallLimits`) against
/// `CallLimits.maxActiveCalls`, and decides which calls may start.
///
/// The rules:
/// - `Generate` and `Complete` take one slot for the whole call, or are refused at once with
///   RESOURCE_EXHAUSTED. They never wait.
/// - A `GenerateBatch` is admitted or refused as a whole, by the same test: it takes one
///   slot (its *anchor*) or gets RESOURCE_EXHAUSTED. It keeps the anchor until it ends, so
///   an admitted batch always makes progress.
/// - Each further item a batch runs at the same time needs a slot of its own: a free one
///   at once (`tryTakeSlot`), else the item waits for one (`waitForSlot`) in a FIFO queue.
///   A batch has at most its concurrency − 1 items waiting, so the queue is bounded by the
///   admitted batches' concurrency. A freed slot goes to the longest-waiting item first.
/// - Once the server drains (`beginDraining`), new batches are refused with UNAVAILABLE
///   and waiting items are told to give up; `Generate` and `Complete` are still admitted,
///   because gRPC lets a client finish the calls a server accepted before its GOAWAY.
public final class AdmissionControl: Sendable {
    /// The counters at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Slots held now.
        public var active: Int
        /// Batch items waiting for a slot.
        public var waiting: Int
        /// `CallLimits.maxActiveCalls`.
        public var limit: Int
        /// Whether the server has begun to shut down.
        public var isDraining: Bool
    }

    /// Names one batch's waiting items, so they can be told at once that the batch needs
    /// no more slots.
    struct BatchTicket: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private struct Waiter {
        var id: UInt64
        var batch: BatchTicket
        var continuation: CheckedContinuation<Bool, any Error>
    }

    private struct State {
        var active = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        var draining = false
        var closedBatches: Set<BatchTicket> = []
    }

    /// `CallLimits.maxActiveCalls`.
    public let limit: Int
    private let state = Mutex(State())

    /// - Parameter limit: the most slots held at once (at least 1).
    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public var snapshot: Snapshot {
        state.withLock { Snapshot(active: $0.active, waiting: $0.waiters.count, limit: limit, isDraining: $0.draining) }
    }

    /// Whether the server has begun to shut down.
    var isDraining: Bool { state.withLock { $0.draining } }

    /// The error of a call refused for want of a slot.
    var atLimitError: TokenwireError {
        .resourceExhausted("server is at its limit of \(limit) active calls (--max-active-calls); retry later")
    }

    /// Runs `body` holding one slot (`Generate`, `Complete`).
    /// - Throws: RESOURCE_EXHAUSTED at once when every slot is taken; whatever `body` throws.
    func withSlot<Result>(_ body: () async throws -> Result) async throws -> Result {
        guard tryTakeSlot() else { throw atLimitError }
        defer { releaseSlot() }
        return try await body()
    }

    /// Admits a batch: takes its anchor slot, which the caller gives back with `releaseSlot()`
    /// when the batch ends.
    /// - Throws: UNAVAILABLE while the server drains; RESOURCE_EXHAUSTED when every slot is taken.
    func admitBatch() throws(TokenwireError) -> BatchTicket {
        let admitted = state.withLock { state -> BatchTicket? in
            guard !state.draining, state.active < limit else { return nil }
            state.active += 1
            state.nextID += 1
            return BatchTicket(id: state.nextID)
        }
        if let admitted { return admitted }
        if isDraining { throw .unavailable("the server is shutting down; send the batch to another server or retry later") }
        throw atLimitError
    }

    /// Takes a free slot if there is one.
    func tryTakeSlot() -> Bool {
        state.withLock { state in
            // A free slot is owed to a waiting item first.
            guard state.active < limit, state.waiters.isEmpty else { return false }
            state.active += 1
            return true
        }
    }

    /// Waits for a slot for another item of `batch`.
    /// - Returns: true holding a slot; false when the batch needs no more (`closeWaits`) or
    ///   the server drains.
    /// - Throws: `CancellationError` when the task is cancelled while it waits.
    func waitForSlot(for batch: BatchTicket) async throws -> Bool {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                let immediate: Result<Bool, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.draining || state.closedBatches.contains(batch) { return .success(false) }
                    if state.active < limit, state.waiters.isEmpty {
                        state.active += 1
                        return .success(true)
                    }
                    state.waiters.append(Waiter(id: id, batch: batch, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let position = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: position)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back: to the longest-waiting item if there is one, else to the pool.
    func releaseSlot() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.active -= 1
                return nil
            }
            return state.waiters.removeFirst()  // the slot passes on; `active` stays
        }
        next?.continuation.resume(returning: true)
    }

    /// Tells `batch`'s waiting items, and any that start waiting later, that the batch
    /// needs no more slots.
    func closeWaits(for batch: BatchTicket) {
        let released = state.withLock { state -> [Waiter] in
            state.closedBatches.insert(batch)
            let mine = state.waiters.filter { $0.batch == batch }
            state.waiters.removeAll { $0.batch == batch }
            return mine
        }
        for waiter in released { waiter.continuation.resume(returning: false) }
    }

    /// Forgets a batch that has ended (after `closeWaits`).
    func forget(_ batch: BatchTicket) {
        _ = state.withLock { $0.closedBatches.remove(batch) }
    }

    /// The server is shutting down: refuse new batches and tell waiting items to give up.
    func beginDraining() {
        let released = state.withLock { state -> [Waiter] in
            state.draining = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in released { waiter.continuation.resume(returning: false) }
    }
}
