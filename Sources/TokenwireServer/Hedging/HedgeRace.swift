import Synchronization

/// Which of a hedged call's routes serves it: the first whose provider produces an event
/// other than a heartbeat claims the call; the others are cancelled at once (their
/// upstream requests close).
///
/// - Important: Any thread: candidates claim from their providers' loops and tasks.
final class HedgeRace: Sendable {
    private struct State {
        var winner: Int?
        /// The running provider task of each candidate, to cancel the losers.
        var tasks: [Int: Task<Void, any Error>] = [:]
    }

    private let state = Mutex(State())

    /// The candidate that won, once one has.
    var winner: Int? { state.withLock { $0.winner } }

    /// Candidate `index` produced its first event: whether it serves the call. The first
    /// claim wins and cancels every other candidate.
    func claim(_ index: Int) -> Bool {
        let (won, losers) = state.withLock { state -> (Bool, [Task<Void, any Error>]) in
            if let winner = state.winner { return (winner == index, []) }
            state.winner = index
            return (true, state.tasks.filter { $0.key != index }.map(\.value))
        }
        for loser in losers { loser.cancel() }
        return won
    }

    /// Registers candidate `index`'s task; a candidate that starts after the race is won is
    /// cancelled at once.
    func started(_ index: Int, task: Task<Void, any Error>) {
        let lost = state.withLock { state -> Bool in
            state.tasks[index] = task
            return state.winner.map { $0 != index } ?? false
        }
        if lost { task.cancel() }
    }

    /// Cancels every candidate (the call was cancelled).
    func cancelAll() {
        for task in state.withLock({ Array($0.tasks.values) }) { task.cancel() }
    }
}
