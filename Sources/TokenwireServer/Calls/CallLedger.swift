import Synchronization
public import TokenwireCore

/// Counts the server's calls as they start and end, and lets a caller wait for a count
/// to be reached. Tests use it to see server-side effects (a cancelled producer) without
/// sleeping; `tokenwire serve` logs from it.
public final class CallLedger: Sendable {
    /// A call that has ended.
    public struct EndedCall: Sendable {
        public var path: String
        public var status: GRPCStatus
        /// Whether the client went away (reset, disconnect) before the call finished.
        public var clientCancelled: Bool
    }

    /// The counters at one moment.
    public struct Snapshot: Sendable {
        public var started = 0
        public var active = 0
        public var ended: [EndedCall] = []
    }

    private struct Waiter {
        var predicate: @Sendable (Snapshot) -> Bool
        var continuation: CheckedContinuation<Snapshot, Never>
    }

    private struct State {
        var snapshot = Snapshot()
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())
    private let keepEnded: Int

    /// - Parameter keepEnded: how many ended calls to remember at least (up to twice as many
    ///   are kept between trims).
    public init(keepEnded: Int = 1000) {
        self.keepEnded = keepEnded
    }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    func callStarted() {
        update { $0.started += 1; $0.active += 1 }
    }

    func callEnded(_ call: EndedCall) {
        update { snapshot in
            snapshot.active -= 1
            snapshot.ended.append(call)
            // Trim in batches: dropping one element per call would shift the whole history.
            if snapshot.ended.count >= 2 * keepEnded { snapshot.ended.removeFirst(snapshot.ended.count - keepEnded) }
        }
    }

    /// Returns once `predicate` holds for the counters (checked now and after each change).
    public func wait(until predicate: @escaping @Sendable (Snapshot) -> Bool) async -> Snapshot {
        await withCheckedContinuation { continuation in
            let now: Snapshot? = state.withLock { state in
                if predicate(state.snapshot) { return state.snapshot }
                state.waiters.append(Waiter(predicate: predicate, continuation: continuation))
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    private func update(_ change: (inout Snapshot) -> Void) {
        let ready = state.withLock { state -> [(CheckedContinuation<Snapshot, Never>, Snapshot)] in
            change(&state.snapshot)
            var ready: [(CheckedContinuation<Snapshot, Never>, Snapshot)] = []
            state.waiters.removeAll { waiter in
                guard waiter.predicate(state.snapshot) else { return false }
                ready.append((waiter.continuation, state.snapshot))
                return true
            }
            return ready
        }
        for (continuation, snapshot) in ready { continuation.resume(returning: snapshot) }
    }
}
