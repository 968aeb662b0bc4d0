import Logging
import NIOCore
import Synchronization
import TokenwireCore
import TokenwireRedis

/// Copies every resumable stream's frames to Redis (`--resume-store`), so that a resume
/// that reaches another replica can replay and follow them (`ResumeFollower`).
///
/// Keys, for a stream with token T on replica R:
/// - `tokenwire:stream:T`, a Redis Stream. Each entry `F-0` holds frames F, F+1, … in field
///   `f`: their gRPC messages as sent, back to back (each message's 5-byte prefix says its
///   length). The end is entry `N-1` (N the last seq) with fields `code` and `message`.
///   Expires `retention` after the end (while the stream runs: retention plus the detach
///   grace plus a minute, renewed every 10 s).
/// - `tokenwire:owner:T`: R, set with the first frame.
/// - `tokenwire:replica:R`: R's lease, renewed every second for 3 s. A follower whose
///   stream has gone quiet and whose owner's lease is gone knows the producer is dead.
///
/// The token path never waits for Redis, and does no more per frame for it than note, once
/// per batch, that the stream has news (`ResumableStream.append` puts the stream on this
/// mirror's list: `hasNews`). One task (`run`) takes every listed stream's new frames
/// (`ResumableStream.takeMirrorBatch` copies them from the stream's log, wherever it is)
/// as one `XADD` each and sends them all as one pipeline, each stream's frames written
/// without a further copy; the next batch starts at least `batchInterval` after this one
/// began. A busy stream costs one command per batch, not one per frame. A stream whose new
/// frames left its log before the batch took them (the log is bounded by
/// `--resume-buffer`), or whose batch Redis did not take, is no longer mirrored (a follower
/// elsewhere meets the gap as OUT_OF_RANGE; it stays resumable on its own replica). A Redis
/// outage costs warnings (at most one per 10 s) and `failedBatches`, never a slower or
/// failed stream.
final class ResumeMirror: Sendable {
    enum Keys {
        static func stream(_ token: String) -> String { "tokenwire:stream:\(token)" }
        static func owner(_ token: String) -> String { "tokenwire:owner:\(token)" }
        static func replica(_ id: String) -> String { "tokenwire:replica:\(id)" }
        static func reader(_ token: String) -> String { "tokenwire:reader:\(token)" }
    }

    /// This replica's name in Redis: 128 random bits.
    let replicaID = ResumeToken.random().text
    let client: RedisClient
    let configuration: ResumeConfiguration
    private let logger: Logger
    /// Streams with news and the sender's waiter: touched by every loop's producers and the
    /// sender task, only inside the lock and never across an `await`; waiters are resumed
    /// outside it.
    private let state = Mutex(State())

    /// How long a replica's lease lasts, renewed every second.
    static let leaseMilliseconds = 3000
    /// The least time from one batch to the next: frames that arrive meanwhile join the
    /// next batch, so a busy server sends fewer, larger batches (a follower elsewhere sees
    /// a frame at most this much later).
    static let batchInterval: Duration = .milliseconds(10)

    private struct State {
        /// Streams with frames or an end not yet sent.
        var streams: [ResumableStream] = []
        var waiter: CheckedContinuation<Void, Never>?
        var failedBatches = 0
        var lastWarning: ContinuousClock.Instant?
    }

    init(configuration: ResumeConfiguration, address: RedisAddress, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.client = RedisClient(address: address, group: group)
        self.logger = logger
    }

    /// Batches Redis refused or never answered.
    var failedBatches: Int { state.withLock { $0.failedBatches } }

    /// How long a running stream's key lives without news.
    private var liveMilliseconds: Int { Self.milliseconds(configuration.retention + configuration.detachGrace) + 60_000 }

    /// `stream` has frames (or its end) to send; called once per batch per stream.
    func hasNews(_ stream: ResumableStream) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.streams.append(stream)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The commands that send one stream's batch.
    private func commands(for token: String, _ batch: ResumableStream.MirrorBatch) -> [RESPCommand] {
        let key = Keys.stream(token)
        var commands: [RESPCommand] = []
        if batch.frames.readableBytes > 0 {
            commands.append(RESPCommand("XADD", [ByteBuffer(string: key), ByteBuffer(string: "\(batch.firstSeq)-0"), ByteBuffer(string: "f"), batch.frames]))
            if batch.firstSeq == 1 {
                commands.append(RESPCommand("SET", Keys.owner(token), replicaID, "PX", "\(liveMilliseconds)"))
            }
        }
        if let (lastSeq, status) = batch.end {
            let retention = "\(Self.milliseconds(configuration.retention))"
            commands += [
                RESPCommand("XADD", key, "\(lastSeq)-1", "code", "\(status.code.rawValue)", "message", status.message),
                RESPCommand("PEXPIRE", key, retention),
                RESPCommand("PEXPIRE", Keys.owner(token), retention),
            ]
        } else if batch.renewsExpiry {
            commands.append(RESPCommand("PEXPIRE", key, "\(liveMilliseconds)"))
        }
        return commands
    }

    // MARK: The sender

    /// Sends what is queued, batch after batch, and renews the lease every second, until
    /// the task is cancelled; then sends what is queued once more and stops.
    func run() async {
        var nextLease = ContinuousClock.now
        while true {
            let stopping = Task.isCancelled
            let streams = await nextStreams(until: nextLease)
            let batchStarted = ContinuousClock.now
            var batch: [RESPCommand] = []
            var sent: [(stream: ResumableStream, commands: Range<Int>)] = []
            for stream in streams {
                guard let news = stream.takeMirrorBatch() else { continue }
                let start = batch.count
                batch += commands(for: stream.token, news)
                sent.append((stream, start..<batch.count))
            }
            if ContinuousClock.now >= nextLease {
                batch.append(RESPCommand("SET", Keys.replica(replicaID), "1", "PX", "\(Self.leaseMilliseconds)"))
                nextLease = .now + .seconds(1)
            }
            if !batch.isEmpty {
                let results: [Result<RESPValue, RedisError>]
                do {
                    results = try await client.pipeline(batch)
                } catch {
                    results = []
                    noteFailure("\(error)")
                }
                // A stream whose frames did not all arrive has a gap there: it is not
                // mirrored any more.
                for (stream, range) in sent where results.count < range.upperBound || range.contains(where: { index in
                    if case .failure = results[index] { true } else { false }
                }) {
                    stream.abandonMirror()
                }
                if let failure = results.first(where: { if case .failure = $0 { true } else { false } }), case .failure(let error) = failure {
                    noteFailure("\(error)")
                }
            }
            if stopping { break }
            try? await Task.sleep(until: batchStarted + Self.batchInterval)
        }
        client.shutdown()
    }

    /// Waits until a stream has news (or `deadline`), then takes the list.
    private func nextStreams(until deadline: ContinuousClock.Instant) async -> [ResumableStream] {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline) }
            group.addTask { await self.waitForNews() }
            await group.next()
            group.cancelAll()
        }
        return state.withLock { state in
            defer { state.streams.removeAll(keepingCapacity: true) }
            return state.streams
        }
    }

    /// Returns once a stream has news, or the task is cancelled.
    private func waitForNews() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if !state.streams.isEmpty || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            wakeUp()
        }
    }

    /// Whether a follower on another replica reads stream `token` now (its key is renewed
    /// every second while it does).
    func hasRemoteReader(_ token: String) async -> Bool {
        guard let answer = try? await client.send(RESPCommand("EXISTS", Keys.reader(token)), timeout: .seconds(1)) else { return false }
        return answer == .integer(1)
    }

    private func wakeUp() {
        let waiter = state.withLock { state in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func noteFailure(_ reason: String) {
        let warn = state.withLock { state -> Int? in
            state.failedBatches += 1
            if let last = state.lastWarning, ContinuousClock.now - last < .seconds(10) { return nil }
            state.lastWarning = .now
            return state.failedBatches
        }
        if let warn {
            logger.warning(
                "resume store unavailable: streams go on, but resumes on other replicas may not find them",
                metadata: ["redis": "\(client.address)", "reason": "\(reason)", "failed_batches": "\(warn)"])
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
