import Logging
import NIOCore
import Synchronization
import TokenwireCore

/// The server's resumable streams by token: registered when a Generate starts, found by a
/// resume, dropped `retention` after they end.
///
/// Ended streams queue up in the order they ended. On registrations and lookups, at most
/// once a second, a sweep drops those past their retention from the front of the queue,
/// and, while the server's total is over its bound, the oldest ended streams whole: a
/// sweep costs what it drops, not what is held.
final class ResumeRegistry: Sendable {
    let configuration: ResumeConfiguration
    let memory: ResumeMemory
    /// Copies streams to the resume store (nil without `--resume-store`).
    let mirror: ResumeMirror?
    /// Serves resumes of streams this replica does not hold, from the resume store.
    let follower: ResumeFollower?
    /// The streams by token and the ended queue: touched by calls on every loop, only
    /// inside the lock; streams are called (their own lock) outside it.
    private let state = Mutex(State())

    private struct State {
        var streams: [ResumeToken: ResumableStream] = [:]
        /// Ended streams, the earliest first.
        var ended = CircularBuffer<(token: ResumeToken, at: NIODeadline)>()
        var lastSweep = NIODeadline.now()
        var isClosed = false
    }

    init(configuration: ResumeConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.memory = ResumeMemory(limit: configuration.maxTotalBytes)
        if let store = configuration.store, configuration.isEnabled {
            self.mirror = ResumeMirror(configuration: configuration, address: store, group: group, logger: logger)
            self.follower = ResumeFollower(address: store, group: group)
        } else {
            self.mirror = nil
            self.follower = nil
        }
    }

    /// Starts a stream produced by the call whose writer is `writer`, to begin with `start`.
    /// - Returns: nil once the server is shutting down (the call streams without a log).
    func makeStream(start: StreamStart, firstReader writer: GRPCResponseWriter, eventLoop: any EventLoop) -> ResumableStream? {
        let stream = ResumableStream(
            token: .random(), start: start, firstReader: writer, configuration: configuration, memory: memory,
            mirror: mirror, eventLoop: eventLoop,
            onEnd: { [weak self] stream in self?.streamEnded(stream) })
        let registered = state.withLock { state -> Bool in
            guard !state.isClosed else { return false }
            state.streams[stream.key] = stream
            return true
        }
        guard registered else {
            // The writer's queue was told to keep its frames for this stream: it need not.
            _ = writer.takeSentFrames()
            return nil
        }
        sweepIfDue()
        return stream
    }

    /// The stream `token` names, if it is still held.
    func stream(for token: String) -> ResumableStream? {
        sweepIfDue()
        guard let key = ResumeToken(token) else { return nil }
        return state.withLock { $0.streams[key] }
    }

    /// How many streams are held (live and ended).
    var count: Int { state.withLock { $0.streams.count } }

    /// Drops ended streams past their retention and, while over the total, the oldest
    /// ended streams.
    func sweep(now: NIODeadline = .now()) {
        let retention = TimeAmount(configuration.retention)
        let (dropped, freed) = state.withLock { state -> ([ResumableStream], Int) in
            state.lastSweep = now
            var dropped: [ResumableStream] = []
            var freed = 0
            let over = memory.excess
            while let oldest = state.ended.first, now - oldest.at >= retention || over - freed > 0 {
                state.ended.removeFirst()
                guard let stream = state.streams.removeValue(forKey: oldest.token) else { continue }
                dropped.append(stream)
                freed += stream.heldBytes
            }
            return (dropped, freed)
        }
        memory.add(-freed)
        memory.addEnded(-freed)
        // The streams are released here, outside the lock.
        _ = dropped
    }

    /// Shutdown: no new streams; producers with no reader attached are cancelled, and any
    /// whose reader leaves from now on.
    func close() {
        let streams = state.withLock { state in
            state.isClosed = true
            return Array(state.streams.values)
        }
        for stream in streams { stream.close() }
    }

    private func streamEnded(_ stream: ResumableStream) {
        state.withLock { $0.ended.append((stream.key, .now())) }
    }

    private func sweepIfDue() {
        let due = state.withLock { NIODeadline.now() - $0.lastSweep >= .seconds(1) }
        if due || memory.excess > 0 { sweep() }
    }
}
