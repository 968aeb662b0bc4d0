import Synchronization
import TokenwireCore

/// How a running call is tied to a resumable stream, if it is: as the call that produces
/// it, or as a resume that reads it. `GRPCServerCall` asks it what a lost connection or a
/// cancel means for the call's task; the handler fills it in once it knows.
///
/// - Important: Any thread (the handler's task and the connection's loop).
final class CallAttachment: Sendable {
    private enum Role {
        case none
        case producer(ResumableStream, readerID: Int)
        case reader(ResumableStream, readerID: Int)
    }

    private struct State {
        var role = Role.none
        var task: Task<Void, Never>?
        var cancelWanted = false
    }

    /// The role and the task: set by the handler's task, read by the connection's loop;
    /// the stream and the task are called outside the lock.
    private let state = Mutex(State())

    /// The call's task, once started.
    func started(_ task: Task<Void, Never>) {
        let cancel = state.withLock { state -> Bool in
            state.task = task
            return state.cancelWanted
        }
        if cancel { task.cancel() }
    }

    /// The call produces `stream` (as its reader 0).
    func produces(_ stream: ResumableStream) {
        state.withLock { $0.role = .producer(stream, readerID: 0) }
        stream.setProducer(cancel: { [self] in cancelTask() })
    }

    /// The call is a resume reading `stream`.
    func reads(_ stream: ResumableStream, readerID: Int) {
        state.withLock { $0.role = .reader(stream, readerID: readerID) }
    }

    /// The client's connection was lost.
    /// - Returns: whether the call's task goes on (a producer, now detached).
    func connectionLost() -> Bool {
        switch state.withLock({ $0.role }) {
        case .none:
            return false
        case .producer(let stream, let id):
            stream.detach(readerID: id)
            return true
        case .reader(let stream, let id):
            stream.detach(readerID: id)
            return false
        }
    }

    /// The client reset the call, or its deadline passed.
    /// - Returns: whether the call's own task must be cancelled (a producer's is cancelled
    ///   by its stream once no reader is left).
    func cancelled() -> Bool {
        switch state.withLock({ $0.role }) {
        case .none:
            return true
        case .producer(let stream, let id):
            stream.cancelReader(readerID: id)
            return false
        case .reader(let stream, let id):
            stream.cancelReader(readerID: id)
            return true
        }
    }

    /// The call's handler ended with `status`. The attachment lets go of its stream: the
    /// call's writer holds this attachment, and the stream holds its readers' writers, so
    /// keeping it would keep the whole call (`CallLifetimeTests`).
    /// - Returns: the call's status: a producer's stream may say why it was cancelled.
    func ended(_ status: GRPCStatus) -> GRPCStatus {
        let role = state.withLock { state in
            defer { state.role = .none }
            return state.role
        }
        guard case .producer(let stream, _) = role else { return status }
        return stream.finish(status)
    }

    private func cancelTask() {
        let task = state.withLock { state -> Task<Void, Never>? in
            if state.task == nil { state.cancelWanted = true }
            return state.task
        }
        task?.cancel()
    }
}
