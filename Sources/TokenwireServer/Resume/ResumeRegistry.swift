import Logging
import NIOCore
import Synchronization
import TokenwireCore

/// The server's resumable streams by token: registered when a Generate starts, found by a
/// resume, dropped `retention` after they end.
///
/// A running stream is its `ResumableStream`; an ended one is a record and its frames in
/// `EndedStreams` (the object goes with its call). Ended streams are dropped in the order
/// they ended: on registrations and lookups, at most once a second, a sweep drops those
/// past their retention, and, while the server's total is over its bound, the oldest
/// whole: a sweep costs what it drops, not what is held.
final class ResumeRegistry: Sendable {
    let configuration: ResumeConfiguration
    let memory: ResumeMemory
    /// Copies streams to the resume store (nil without `--resume-store`).
    let mirror: ResumeMirror?
    /// Serves resumes of streams this replica does not hold, from the resume store.
    let follower: ResumeFollower?
    /// Where a resume of an ended stream keeps its (idle) grace timer.
    private let group: any EventLoopGroup
    /// The streams by token: touched by calls on every loop, only inside the lock; streams
    /// are called (their own lock) outside it.
    private let state: Mutex<State>

    private struct State {
        var running: [ResumeToken: ResumableStream] = [:]
        var ended: EndedStreams
        var lastSweep = NIODeadline.now()
        var isClosed = false
    }

    init(configuration: ResumeConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.memory = ResumeMemory(limit: configuration.maxTotalBytes)
        self.state = Mutex(State(ended: EndedStreams(maxTotalBytes: configuration.maxTotalBytes)))
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
            mirror: mirror, eventLoop: eventLoop, registry: self)
        let registered = state.withLock { state -> Bool in
            guard !state.isClosed else { return false }
            state.running[stream.key] = stream
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

    /// The stream `token` names, if it is still held: a running one, or (a new object over
    /// its kept frames) an ended one.
    func stream(for token: String) -> ResumableStream? {
        sweepIfDue()
        guard let key = ResumeToken(token) else { return nil }
        let found = state.withLock { state -> (running: ResumableStream?, ended: EndedStreams.Ended?) in
            if let stream = state.running[key] { return (stream, nil) }
            return (nil, state.ended.find(key))
        }
        if let stream = found.running { return stream }
        guard let ended = found.ended else { return nil }
        return ResumableStream(
            token: key, ended: ended, configuration: configuration, memory: memory, eventLoop: group.any())
    }

    /// How many streams are held (running and ended).
    var count: Int { state.withLock { $0.running.count + $0.ended.count } }

    /// Drops ended streams past their retention and, while over the total, the oldest
    /// ended streams.
    func sweep(now: NIODeadline = .now()) {
        let retention = TimeAmount(configuration.retention)
        let freed = state.withLock { state -> Int in
            state.lastSweep = now
            var freed = 0
            let over = memory.excess
            while let oldest = state.ended.oldestEnd, now - oldest >= retention || over - freed > 0 {
                freed += state.ended.dropOldest() ?? 0
            }
            return freed
        }
        memory.add(-freed)
        memory.addEnded(-freed)
    }

    /// Shutdown: no new streams; producers with no reader attached are cancelled, and any
    /// whose reader leaves from now on.
    func close() {
        let streams = state.withLock { state in
            state.isClosed = true
            return Array(state.running.values)
        }
        for stream in streams { stream.close() }
    }

    /// `stream` ended; `log` holds its frames (finished): they are kept for the retention,
    /// and the stream object goes with its call.
    func streamEnded(_ stream: ResumableStream, log: StreamFrameLog) {
        let status = log.endStatus ?? GRPCStatus(code: .ok, message: "")
        let now = NIODeadline.now()
        let charge = state.withLock { state -> Int in
            state.running.removeValue(forKey: stream.key)
            return state.ended.add(key: stream.key, messages: log.messages, lastSeq: log.lastSeq, status: status, at: now)
        }
        memory.add(charge)
        memory.addEnded(charge)
    }

    private func sweepIfDue() {
        let due = state.withLock { NIODeadline.now() - $0.lastSweep >= .seconds(1) }
        if due || memory.excess > 0 { sweep() }
    }
}
