import Foundation
import Synchronization
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProcess
import TokenwireServer
import TokenwireTestSupport

/// Two `tokenwire serve` replicas behind a real nginx, configured by the committed
/// deploy/nginx/tokenwire-grpc.conf (ports and log directory substituted), restarted one
/// after the other with SIGTERM while paced streams run through nginx.
///
/// Every step waits for an event, never for time: the streams are running (each has its
/// first frame) before a replica gets SIGTERM; calls made while it drains and after it
/// exited have succeeded before it is started again; the restarted replica has served a
/// call routed to it by nginx (nginx took it back after fail_timeout) before the other one
/// is stopped.
@Suite("Replicas behind nginx")
struct ReplicasBehindNginxTests {
    /// Streams started before each replica's restart: 2 × 50 = 100.
    static let streamsPerWave = 50
    /// Tokens per stream, at `pacedRate` tokens a second: about 5 s per stream, so the
    /// streams on a replica are still running when it gets SIGTERM right after they began.
    static let streamTokens: UInt32 = 100
    static let pacedRate = 20
    /// Tokens of the short calls made throughout (0.2 s each: they pace themselves).
    static let probeTokens: UInt32 = 4
    /// Seconds a replica may drain: below ServeProcess.stop's 30 s bound, far above 5 s.
    static let drainTimeout = 20

    enum Phase: String, Sendable, CaseIterable {
        case bothUp, stopping0, gone0, back0, stopping1, gone1, back1
    }

    @Test(.enabled(if: NginxProcess.executable != nil, "nginx is not installed (tools/bootstrap.sh installs the Debian package nginx)"))
    func pacedStreamsThroughNginxSurviveARollingRestartOfBothReplicas() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = [try await RedisServerProcess.freePort(), try await RedisServerProcess.freePort()]
        let nginxPort = try await RedisServerProcess.freePort()
        try #require(Set(ports + [nginxPort]).count == 3, "three distinct free ports")
        let processes = Processes()
        do {
            try await withTimeout(300, "the rolling restart behind nginx") {
                try await Self.run(ports: ports, nginxPort: nginxPort, directory: directory, processes: processes)
            }
        } catch {
            await processes.stopAll()
            Issue.record("nginx's logs are kept in \(directory.path)")
            throw error
        }
        await processes.stopAll()
        try? FileManager.default.removeItem(at: directory)
    }

    static func run(ports: [Int], nginxPort: Int, directory: URL, processes: Processes) async throws {
        for index in 0..<2 { processes.setReplica(index, try await startReplica(port: ports[index])) }
        let configuration = try nginxConfiguration(replicaPorts: ports, listenPort: nginxPort, logDirectory: directory.path)
        let nginx = try await NginxProcess.start(httpConfiguration: configuration, port: nginxPort, in: directory)
        processes.setNginx(nginx)

        let clientConfiguration = {
            var configuration = ClientConfiguration()
            configuration.resumeAttempts = 0  // a cut stream must show, not be resumed
            return configuration
        }()
        let book = CallBook()
        let shared = try await TokenwireClient.connect(host: "127.0.0.1", port: nginxPort, configuration: clientConfiguration)
        // Short calls all along: on one shared connection, and each on a connection of its own.
        let probes = [
            Task { await probeLoop(book: book) { shared } close: { _ in } },
            Task {
                await probeLoop(book: book) {
                    try await TokenwireClient.connect(host: "127.0.0.1", port: nginxPort, configuration: clientConfiguration)
                } close: { await $0.close() }
            },
        ]
        var waves: [Task<[String], Never>] = []
        defer {
            book.stop()
            for task in probes { task.cancel() }
            for wave in waves { wave.cancel() }
        }
        var stopLogs: [String] = []
        try await waitUntil(120, "2 calls through nginx") { book.succeeded(in: .bothUp) >= 2 }
        for index in 0..<2 {
            // The streams of this wave, each on the wave's own connection.
            let client = try await TokenwireClient.connect(host: "127.0.0.1", port: nginxPort, configuration: clientConfiguration)
            let wave = Wave()
            waves.append(Task { await runWave(client: client, wave: wave) })
            try await waitUntil(120, "the \(streamsPerWave) streams of wave \(index + 1) to run") { wave.startedOrEnded >= streamsPerWave }

            // SIGTERM: the replica drains its streams; new calls go to the other one.
            let stoppingPhase: Phase = index == 0 ? .stopping0 : .stopping1
            book.phase = stoppingPhase
            let replica = try #require(processes.takeReplica(index))
            async let stopped = replica.stop()
            try await waitUntil(120, "3 calls made while replica \(index) drains") { book.succeeded(in: stoppingPhase) >= 3 }
            let (termination, log) = try await stopped
            #expect(termination == .exited(0), "replica \(index):\n\(log)")
            stopLogs.append(log)
            let drained = Self.drainedStreams(log)
            #expect(drained >= 1, "replica \(index) got SIGTERM while its streams ran, so some ended after it began to shut down:\n\(log)")

            // Gone: every call goes to the other replica.
            book.phase = index == 0 ? .gone0 : .gone1
            for _ in 0..<5 {
                await probe(book: book, client: shared)
            }

            // Back on the same port; nginx takes it back once fail_timeout has passed.
            let backPhase: Phase = index == 0 ? .back0 : .back1
            book.phase = backPhase
            let restarted = try await startReplica(port: ports[index])
            processes.setReplica(index, restarted)
            try await waitUntil(120, "nginx to send a call to restarted replica \(index)") {
                restarted.output.withLockedValue { $0.contains("] call") }
            }
            try await waitUntil(120, "2 calls after replica \(index) is back") { book.succeeded(in: backPhase) >= 2 }
        }
        for wave in waves {
            let problems = await wave.value
            #expect(problems.isEmpty, "\(problems.count) of \(streamsPerWave) streams went wrong:\n\(problems.prefix(10).joined(separator: "\n"))")
        }
        book.stop()
        for probe in probes { await probe.value }
        await shared.close()

        let counts = Phase.allCases.map { "\($0.rawValue)=\(book.succeeded(in: $0))" }.joined(separator: " ")
        let failures = book.failures
        #expect(failures.isEmpty, "calls failed: \(failures.prefix(10).joined(separator: "\n"))")
        for phase in Phase.allCases {
            #expect(book.succeeded(in: phase) >= 1, "no call succeeded in phase \(phase): \(counts)")
        }

        // Every stream was served once: replicas' call lines of a whole stream, over all four
        // processes, are the 100 streams.
        var finalLogs: [String] = []
        for index in 0..<2 {
            let (termination, log) = try await #require(processes.takeReplica(index)).stop()
            #expect(termination == .exited(0))
            finalLogs.append(log)
        }
        let served = (stopLogs + finalLogs).map { $0.components(separatedBy: "tokens_out=\(streamTokens) ").count - 1 }.reduce(0, +)
        #expect(served == 2 * streamsPerWave, "replicas served \(served) whole streams")

        // nginx saw only what a restart should make it see: refused connections (retried on
        // the other replica) and replicas marked down for a while. Nothing a call could fail on.
        let accessLog = (try? String(contentsOf: directory.appendingPathComponent("tokenwire-grpc.access.log"), encoding: .utf8)) ?? ""
        let errorLog = (try? String(contentsOf: directory.appendingPathComponent("tokenwire-grpc.error.log"), encoding: .utf8)) ?? ""
        let unexpected = errorLog.split(separator: "\n").filter { line in
            !line.contains("connect() failed (111: Connection refused) while connecting to upstream")
                && !line.contains("upstream server temporarily disabled while connecting to upstream")
        }
        #expect(unexpected.isEmpty, "nginx logged:\n\(unexpected.prefix(20).joined(separator: "\n"))")
        let retried = accessLog.split(separator: "\n").filter { $0.contains("upstream=127.0.0.1:") && $0.contains(", 127.0.0.1:") }.count
        let calls = accessLog.split(separator: "\n").count
        print("replicas behind nginx: \(calls) calls through nginx, \(retried) of them retried on the other replica; "
            + "calls by phase: \(counts); streams that ended after their replica's SIGTERM: \(stopLogs.map(Self.drainedStreams))")

        // With no replica left, nginx's own error is a gRPC status, not an HTML page.
        do {
            let frames = try await TokenwireClient.withConnection(host: "127.0.0.1", port: nginxPort, configuration: clientConfiguration) { client in
                try await client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: probeTokens)).collect()
            }
            Issue.record("a call with no replica up got \(frames.count) frames")
        } catch let error as TokenwireError {
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.message.contains("nginx found no tokenwire replica"), "\(error)")
        }
        await nginx.stop()
        processes.clearNginx()
    }

    // MARK: Replicas and nginx

    static func startReplica(port: Int) async throws -> ServeProcess {
        let arguments = [
            "--port", "\(port)", "--paced-rate", "\(pacedRate)", "--drain-timeout", "\(drainTimeout)", "--log-level", "info",
        ]
        return try await ServeProcess.start(arguments) { $0.contains("listening") ? true : nil }.0
    }

    /// deploy/nginx/tokenwire-grpc.conf with the test's ports and log directory. Each
    /// replaced setting must be there exactly once (outside comments), so that the file
    /// the test runs is the file that is committed.
    static func nginxConfiguration(replicaPorts: [Int], listenPort: Int, logDirectory: String) throws -> String {
        let url = repositoryRoot.appendingPathComponent("deploy/nginx/tokenwire-grpc.conf")
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        func replace(_ old: String, with new: String, once: Bool = true) throws {
            var found = 0
            for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                guard line.contains(old) else { continue }
                found += 1
                lines[number] = line.replacingOccurrences(of: old, with: new)
            }
            guard once ? found == 1 : found >= 1 else {
                throw NginxFailed(message: "deploy/nginx/tokenwire-grpc.conf has '\(old)' \(found) times outside comments; the test needs it once")
            }
        }
        try replace("server 127.0.0.1:8101 ", with: "server 127.0.0.1:\(replicaPorts[0]) ")
        try replace("server 127.0.0.1:8102 ", with: "server 127.0.0.1:\(replicaPorts[1]) ")
        try replace("listen 50051 http2;", with: "listen 127.0.0.1:\(listenPort) http2;")
        try replace("/var/log/nginx/", with: logDirectory + "/", once: false)
        return lines.joined(separator: "\n")
    }

    /// Whole streams a replica finished after it logged that it shuts down.
    static func drainedStreams(_ log: String) -> Int {
        guard let shutdown = log.range(of: "shutting down") else { return 0 }
        return log[shutdown.upperBound...].components(separatedBy: "tokens_out=\(streamTokens) ").count - 1
    }

    // MARK: Calls

    /// Runs `streamsPerWave` streams at once on `client`, each checked frame by frame.
    /// - Returns: what went wrong, one line per stream.
    static func runWave(client: TokenwireClient, wave: Wave) async -> [String] {
        let problems = await withTaskGroup(of: String?.self) { group in
            for number in 0..<streamsPerWave {
                group.addTask {
                    var frames: [TokenFrame] = []
                    do {
                        for try await frame in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: streamTokens)) {
                            if frames.isEmpty { wave.started() }
                            frames.append(frame)
                        }
                    } catch {
                        if frames.isEmpty { wave.started() }
                        return "stream \(number) failed after \(frames.count) frames: \(error)"
                    }
                    return checkFrames(frames, tokens: streamTokens).map { "stream \(number): \($0)" }
                }
            }
            var problems: [String] = []
            for await problem in group {
                if let problem { problems.append(problem) }
            }
            return problems
        }
        await client.close()
        return problems
    }

    /// Short calls one after the other until the book says stop, each recorded in the
    /// phase it began in.
    static func probeLoop(
        book: CallBook, client: @escaping @Sendable () async throws -> TokenwireClient,
        close: @escaping @Sendable (TokenwireClient) async -> Void
    ) async {
        while !book.isStopped {
            let phase = book.phase
            do {
                let connected = try await client()
                await probe(book: book, client: connected, phase: phase)
                await close(connected)
            } catch {
                book.record(phase, problem: "connecting to nginx: \(error)")
            }
        }
    }

    /// One short call, recorded in `phase` (the book's phase now if nil).
    static func probe(book: CallBook, client: TokenwireClient, phase: Phase? = nil) async {
        let phase = phase ?? book.phase
        do {
            let frames = try await client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: probeTokens)).collect()
            book.record(phase, problem: checkFrames(frames, tokens: probeTokens))
        } catch {
            book.record(phase, problem: "call failed: \(error)")
        }
    }

    /// What is wrong with the frames of a `synthetic/paced` call of `tokens` tokens: Start,
    /// the text in order, Finish; seq 1, 2, 3… with no gap.
    static func checkFrames(_ frames: [TokenFrame], tokens: UInt32) -> String? {
        guard frames.count == Int(tokens) + 2 else { return "\(frames.count) frames, not \(tokens + 2)" }
        for (offset, frame) in frames.enumerated() {
            guard frame.seq == UInt64(offset + 1) else { return "frame \(offset) has seq \(frame.seq)" }
            switch (offset, frame.event) {
            case (0, .start(let start)) where start.model == "synthetic/paced" && !start.streamID.isEmpty:
                continue
            case (Int(tokens) + 1, .finish(let finish)) where finish == Finish(reason: "length", usage: Usage(outputTokens: tokens)):
                continue
            case (_, .text(let text)) where offset >= 1 && offset <= Int(tokens) && text == SyntheticProvider.vocabulary[(offset - 1) % 8]:
                continue
            default:
                return "unexpected frame \(frame) at offset \(offset)"
            }
        }
        return nil
    }
}

/// The calls of the test by phase: how many succeeded, and what went wrong.
final class CallBook: Sendable {
    typealias Phase = ReplicasBehindNginxTests.Phase

    private struct State {
        var phase = Phase.bothUp
        var succeeded: [Phase: Int] = [:]
        var failures: [String] = []
        var stopped = false
    }

    private let state = Mutex(State())

    var phase: Phase {
        get { state.withLock { $0.phase } }
        set { state.withLock { $0.phase = newValue } }
    }

    var isStopped: Bool { state.withLock { $0.stopped } }
    var failures: [String] { state.withLock { $0.failures } }

    func stop() { state.withLock { $0.stopped = true } }

    func succeeded(in phase: Phase) -> Int { state.withLock { $0.succeeded[phase, default: 0] } }

    /// A call begun in `phase` ended, well if `problem` is nil.
    func record(_ phase: Phase, problem: String?) {
        state.withLock { state in
            if let problem {
                state.failures.append("\(phase.rawValue): \(problem)")
            } else {
                state.succeeded[phase, default: 0] += 1
            }
        }
    }
}

/// How many streams of a wave have their first frame (or ended without one).
final class Wave: Sendable {
    private let count = Mutex(0)
    var startedOrEnded: Int { count.withLock { $0 } }
    func started() { count.withLock { $0 += 1 } }
}

/// The processes a test started, so that a failing test stops them all.
final class Processes: Sendable {
    private struct State {
        var replicas: [Int: ServeProcess] = [:]
        var nginx: NginxProcess?
    }

    private let state = Mutex(State())

    func replica(_ index: Int) -> ServeProcess? { state.withLock { $0.replicas[index] } }
    func setReplica(_ index: Int, _ replica: ServeProcess) { state.withLock { $0.replicas[index] = replica } }
    func takeReplica(_ index: Int) -> ServeProcess? { state.withLock { $0.replicas.removeValue(forKey: index) } }
    func setNginx(_ nginx: NginxProcess) { state.withLock { $0.nginx = nginx } }
    func clearNginx() { state.withLock { $0.nginx = nil } }

    func stopAll() async {
        let (replicas, nginx) = state.withLock { state in
            defer { state.replicas.removeAll(); state.nginx = nil }
            return (Array(state.replicas.values), state.nginx)
        }
        for replica in replicas { _ = try? await replica.stop() }
        await nginx?.stop()
    }
}
