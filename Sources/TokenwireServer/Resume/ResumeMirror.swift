import Logging
import NIOCore
import Synchronization
import TokenwireCore
import TokenwireRedis

/// Copies every resumable stream's frames to Redis (`--resume-store`), so that a resume
/// that reaches another replica can replay and follow them (`ResumeFollower`).
///
/// Keys, for a stream with token T on replica R:
/// - `tokenwire:stream:T`, a Redis Stream: frame k is entry `k-0` with field `f` (its gRPC
///   message as sent); the end is entry `N-1` (N the last seq) with fields `code` and
///   `message` (the final status). Expires `retention` after the end (while the stream
///   runs: retention plus the detach grace, renewed with every batch).
/// - `tokenwire:owner:T`: R, set with the first frame.
/// - `tokenwire:replica:R`: R's lease, renewed every second for 3 s. A follower whose
///   stream has gone quiet and whose owner's lease is gone knows the producer is dead.
///
/// The token path never waits for Redis: `frame` and `end` queue commands under a lock
/// (bounded: past `maxPendingBytes` a stream's mirror is given up, and its key deleted so
/// no follower reads a gap), and one task (`run`) sends whatever has queued as one
/// pipeline, then the next. A Redis outage costs warnings (at most one per 10 s) and
/// `failedBatches`, never a slower or failed stream; resumes on the same replica go on.
final class ResumeMirror: Sendable {
    enum Keys {
        static func stream(_ token: String) -> String { "tokenwire:stream:\(token)" }
        static func owner(_ token: String) -> String { "tokenwire:owner:\(token)" }
        static func replica(_ id: String) -> String { "tokenwire:replica:\(id)" }
        static func reader(_ token: String) -> String { "tokenwire:reader:\(token)" }
    }

    /// This replica's name in Redis: 128 random bits.
    let replicaID = ResumeRegistry.makeToken()
    let client: RedisClient
    let configuration: ResumeConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    /// The bytes of commands that may wait for Redis.
    static let maxPendingBytes = 64 * 1024 * 1024
    /// How long a replica's lease lasts, renewed every second.
    static let leaseMilliseconds = 3000

    private struct State {
        var pending: [RESPCommand] = []
        var pendingBytes = 0
        /// Streams whose key was touched since the last batch (each gets its expiry renewed).
        var touched: Set<String> = []
        /// Streams whose mirror lost a frame: nothing more is sent for them.
        var abandoned: Set<String> = []
        var waiter: CheckedContinuation<Void, Never>?
        var isStopped = false
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

    // MARK: The token path (never waits)

    /// Queues frame `seq` of stream `token` (its message's bytes, copied).
    func frame(_ token: String, seq: UInt64, bytes: UnsafeRawBufferPointer) {
        var command = RESPCommand("XADD", [ByteBuffer(string: Keys.stream(token)), ByteBuffer(string: "\(seq)-0"), ByteBuffer(string: "f")])
        command.arguments.append(ByteBuffer(bytes: bytes))
        var commands = [command]
        if seq == 1 {
            commands.append(RESPCommand("SET", Keys.owner(token), replicaID, "PX", "\(liveMilliseconds)"))
        }
        enqueue(commands, token: token)
    }

    /// Queues the end of stream `token` after frame `lastSeq`, with its final status.
    func end(_ token: String, lastSeq: UInt64, status: GRPCStatus) {
        let retention = "\(Self.milliseconds(configuration.retention))"
        enqueue([
            RESPCommand("XADD", Keys.stream(token), "\(lastSeq)-1", "code", "\(status.code.rawValue)", "message", status.message),
            RESPCommand("PEXPIRE", Keys.stream(token), retention),
            RESPCommand("PEXPIRE", Keys.owner(token), retention),
        ], token: token, ends: true)
    }

    private func enqueue(_ commands: [RESPCommand], token: String, ends: Bool = false) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.isStopped, !state.abandoned.contains(token) else { return nil }
            let bytes = commands.reduce(0) { $0 + $1.arguments.reduce(16) { $0 + $1.readableBytes + 16 } }
            if state.pendingBytes + bytes > Self.maxPendingBytes {
                // Redis is far behind: give this stream's mirror up rather than leave a gap.
                state.abandoned.insert(token)
                state.pending.append(RESPCommand("DEL", Keys.stream(token), Keys.owner(token)))
            } else {
                state.pending.append(contentsOf: commands)
                state.pendingBytes += bytes
                if !ends { state.touched.insert(token) }
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    // MARK: The sender

    /// Sends what is queued, batch after batch, and renews the lease every second, until
    /// the task is cancelled; then sends what is queued once more and stops.
    func run() async {
        var nextLease = ContinuousClock.now
        while true {
            let stopping = Task.isCancelled
            let (commands, touched) = await nextBatch(until: nextLease)
            var batch = commands
            for token in touched {
                batch.append(RESPCommand("PEXPIRE", Keys.stream(token), "\(liveMilliseconds)"))
            }
            if ContinuousClock.now >= nextLease {
                batch.append(RESPCommand("SET", Keys.replica(replicaID), "1", "PX", "\(Self.leaseMilliseconds)"))
                nextLease = .now + .seconds(1)
            }
            guard !batch.isEmpty else {
                if stopping { break }
                continue
            }
            do {
                let results = try await client.pipeline(batch)
                if let failure = results.first(where: { if case .failure = $0 { true } else { false } }), case .failure(let error) = failure {
                    noteFailure("\(error)")
                }
            } catch {
                noteFailure("\(error)")
            }
            if stopping { break }
        }
        state.withLock { $0.isStopped = true }
        client.shutdown()
    }

    /// Waits until commands are queued (or `deadline`), then takes them all.
    private func nextBatch(until deadline: ContinuousClock.Instant) async -> ([RESPCommand], Set<String>) {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline) }
            group.addTask { await self.waitForCommands() }
            await group.next()
            group.cancelAll()
        }
        return state.withLock { state in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.pendingBytes = 0
                state.touched.removeAll(keepingCapacity: true)
            }
            return (state.pending, state.touched)
        }
    }

    /// Returns once commands are queued, or the task is cancelled.
    private func waitForCommands() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || Task.isCancelled { return true }
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
