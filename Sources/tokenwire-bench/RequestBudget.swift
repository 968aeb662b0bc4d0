import Synchronization

/// Shared by all workers: no new request after the deadline or once the request cap is
/// spent (`client.py`'s `State`), and how many workers have ended.
final class RequestBudget: Sendable {
    private struct State {
        var left: Int
        var finishedWorkers = 0
    }

    private let deadline: Int64
    private let state: Mutex<State>

    /// - Parameters:
    ///   - deadline: `MonotonicClock` time after which no request starts.
    ///   - requests: The most requests in all; 0 for no cap.
    init(deadline: Int64, requests: Int) {
        self.deadline = deadline
        state = Mutex(State(left: requests > 0 ? requests : Int.max))
    }

    /// Takes one request from the budget; false when the run should start no more.
    func take() -> Bool {
        guard !Task.isCancelled, MonotonicClock.now() < deadline else { return false }
        return state.withLock { state in
            guard state.left > 0 else { return false }
            state.left -= 1
            return true
        }
    }

    /// Records that a worker has ended.
    func workerFinished() {
        state.withLock { $0.finishedWorkers += 1 }
    }

    /// How many workers have ended.
    var finishedWorkers: Int {
        state.withLock { $0.finishedWorkers }
    }
}
