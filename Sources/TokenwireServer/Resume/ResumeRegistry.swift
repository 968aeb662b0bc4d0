import NIOCore
import Synchronization
import TokenwireCore

/// The server's resumable streams by token: registered when a Generate starts, found by a
/// resume, dropped `retention` after they end. Every second (and on each registration
/// when a second has passed) it sweeps: ended streams past their retention go, and while
/// the server's total is over its bound, the oldest streams' oldest frames go first.
final class ResumeRegistry: Sendable {
    let configuration: ResumeConfiguration
    let memory: ResumeMemory
    private let state = Mutex(State())

    private struct State {
        var streams: [String: ResumableStream] = [:]
        /// Tokens in the order their streams started (the oldest first).
        var order: [String] = []
        var lastSweep = ContinuousClock.now
        var isClosed = false
    }

    init(configuration: ResumeConfiguration) {
        self.configuration = configuration
        self.memory = ResumeMemory(limit: configuration.maxTotalBytes)
    }

    /// A new stream's token: 128 random bits from the system's secure generator, as 32
    /// hex digits.
    static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (value: UInt64) -> String in
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Starts a stream produced by the call whose writer is `writer`.
    /// - Returns: nil once the server is shutting down (the call streams without a log).
    func makeStream(firstReader writer: GRPCResponseWriter, eventLoop: any EventLoop) -> ResumableStream? {
        let stream = ResumableStream(
            token: Self.makeToken(), firstReader: writer, configuration: configuration, memory: memory, eventLoop: eventLoop)
        let registered = state.withLock { state -> Bool in
            guard !state.isClosed else { return false }
            state.streams[stream.token] = stream
            state.order.append(stream.token)
            return true
        }
        guard registered else { return nil }
        sweepIfDue()
        return stream
    }

    /// The stream `token` names, if it is still held.
    func stream(for token: String) -> ResumableStream? {
        sweepIfDue()
        return state.withLock { $0.streams[token] }
    }

    /// How many streams are held (live and ended).
    var count: Int { state.withLock { $0.streams.count } }

    /// Drops expired streams and, while over the total, the oldest frames.
    func sweep(now: ContinuousClock.Instant = .now) {
        let expired = state.withLock { state -> [ResumableStream] in
            state.lastSweep = now
            var expired: [ResumableStream] = []
            state.order.removeAll { token in
                guard let stream = state.streams[token] else { return true }
                guard let endedAt = stream.endedAt, now - endedAt >= configuration.retention else { return false }
                state.streams.removeValue(forKey: token)
                expired.append(stream)
                return true
            }
            return expired
        }
        for stream in expired { memory.add(-stream.heldBytes) }
        guard memory.excess > 0 else { return }
        let oldestFirst = state.withLock { state in state.order.compactMap { state.streams[$0] } }
        for stream in oldestFirst where memory.excess > 0 {
            while memory.excess > 0 {
                let freed = stream.evictOldest()
                if freed == 0 { break }
                memory.add(-freed)
            }
        }
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

    private func sweepIfDue() {
        let due = state.withLock { ContinuousClock.now - $0.lastSweep >= .seconds(1) }
        if due { sweep() }
    }
}
