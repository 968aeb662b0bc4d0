import NIOCore
import Synchronization

/// `Task.sleep` on an event loop's own timer.
///
/// `Task.sleep` arms a Dispatch timer: its manager thread wakes for it, and wakes a worker
/// that hands the task back to its executor. Every relayed call's watchdog sleeps once per
/// look, so on a relay making thousands of short calls a second those wake-ups were an
/// eighth of its CPU (docs/BENCHMARKS.md). A timer on the call's own loop costs an entry in
/// that loop's timer heap, and a task that runs on the loop resumes without a thread switch.
enum EventLoopSleep {
    /// Suspends until `deadline` (at once if it has passed).
    /// - Throws: `CancellationError` when the task is cancelled before or while it sleeps;
    ///   `EventLoopError` when the loop shuts down meanwhile.
    static func sleep(until deadline: NIODeadline, on eventLoop: any EventLoop) async throws {
        // Off the loop (a call on the global executor) the loop's timer saves nothing, and
        // nothing says the loop is still up: a loop that has shut down runs no timer and
        // no failure callback, which would leave the sleep hung. On the loop, the loop is
        // running this very task.
        guard eventLoop.inEventLoop else {
            let remaining = max(0, (deadline - .now()).nanoseconds)
            return try await Task.sleep(for: .nanoseconds(remaining))
        }
        let timer = Timer()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                timer.arm(continuation, deadline: deadline, on: eventLoop)
            }
        } onCancel: {
            timer.cancel()
        }
    }

    /// One sleep's continuation and scheduled wake-up, resumed exactly once: by the
    /// wake-up or by a cancellation, whichever comes first (a cancellation may even come
    /// before the sleep is armed). Under a lock because they run on different threads: the
    /// wake-up on the loop, the cancellation on whichever thread cancels the task.
    private final class Timer: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var scheduled: Scheduled<Void>?
            var isCancelled = false
        }

        private let state = Mutex(State())

        func arm(_ continuation: CheckedContinuation<Void, any Error>, deadline: NIODeadline, on eventLoop: any EventLoop) {
            let alreadyCancelled = state.withLock { state -> Bool in
                if state.isCancelled { return true }
                state.continuation = continuation
                return false
            }
            if alreadyCancelled {
                continuation.resume(throwing: CancellationError())
                return
            }
            let scheduled = eventLoop.scheduleTask(deadline: deadline) { [self] () -> Void in
                take()?.resume()
            }
            // A loop shutting down fails its timers on its own thread: that ends the sleep
            // instead of leaving it hung. (A cancel has taken the continuation already.)
            scheduled.futureResult.whenFailure { [self] error in take()?.resume(throwing: error) }
            let cancelledMeanwhile = state.withLock { state -> Bool in
                state.scheduled = scheduled
                return state.isCancelled
            }
            if cancelledMeanwhile { scheduled.cancel() }
        }

        func cancel() {
            let (continuation, scheduled) = state.withLock { state in
                state.isCancelled = true
                return (state.continuation.take(), state.scheduled)
            }
            scheduled?.cancel()
            continuation?.resume(throwing: CancellationError())
        }

        private func take() -> CheckedContinuation<Void, any Error>? {
            state.withLock { $0.continuation.take() }
        }
    }
}
