import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProcess
import TokenwireRedis
import TokenwireServer
import TokenwireTestSupport

/// Resumable streams across replicas: two servers share one real `redis-server`
/// (`--resume-store`); a resume that reaches the replica that does not hold the stream
/// replays it from Redis and follows it live, and the client cannot tell the difference.
@Suite("Resumable streams across replicas (Redis)")
struct ResumeStoreTests {
    typealias Paced = ResumableStreamTests

    /// Two servers (replicas) on one Redis.
    func withReplicas<R: Sendable>(
        _ redis: RedisServerProcess, configure: @escaping @Sendable (inout ServerConfiguration) -> Void = { _ in },
        _ body: (_ a: TokenwireServer, _ portA: Int, _ b: TokenwireServer, _ portB: Int) async throws -> R
    ) async throws -> R {
        let store = redis.address
        let setUp: @Sendable (inout ServerConfiguration) -> Void = { configuration in
            configuration.resume.store = store
            configuration.pacedTokensPerSecond = 200
            configure(&configuration)
        }
        return try await withTestServer(configure: setUp) { a, portA in
            try await withTestServer(configure: setUp) { b, portB in
                try await body(a, portA, b, portB)
            }
        }
    }

    /// Waits until Redis holds stream `token`'s owner (the mirror sends in batches, a few
    /// milliseconds behind the frames).
    func waitUntilMirrored(_ token: String, redis: RedisServerProcess, end: Bool = false) async throws {
        let connection = try await RedisConnection.connect(to: redis.address)
        defer { connection.close() }
        try await withTimeout(30, "stream \(token) to reach Redis") {
            while true {
                let owner = try await connection.send(RESPCommand("EXISTS", "tokenwire:owner:\(token)"))
                let last = try await connection.send(RESPCommand("XREVRANGE", "tokenwire:stream:\(token)", "+", "-", "COUNT", "1"))
                let lastID = last.elements?.first?.elements?.first?.string ?? ""
                if owner == .integer(1), !end || lastID.hasSuffix("-1") { return }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test func resumeOnTheOtherReplicaReplaysThenFollowsTheLiveStream() async throws {
        try await RedisServerProcess.with { redis in
            try await withReplicas(redis) { _, portA, b, portB in
                let proxy = try await TCPProxy.start(to: portA)
                defer { Task { await proxy.stop() } }
                let before = try await withTimeout(60, "ten frames from replica A, then the cut") {
                    try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port, configuration: Paced.noResume) { client in
                        var frames: [TokenFrame] = []
                        let stream = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000))
                        var iterator = stream.makeAsyncIterator()
                        while frames.count < 10, let frame = try await iterator.next() { frames.append(frame) }
                        await proxy.cut()
                        return frames
                    }
                }
                let token = try Paced.resumeToken(of: before)
                try await waitUntilMirrored(token, redis: redis)
                let after = try await withTimeout(60, "50 frames from replica B") {
                    try await TokenwireClient.withConnection(host: "127.0.0.1", port: portB) { client in
                        var frames: [TokenFrame] = []
                        for try await frame in client.generate(Paced.resumeRequest(token, after: 10)) {
                            frames.append(frame)
                            if frames.count == 50 { break }
                        }
                        return frames
                    }
                }
                let whole = before + after
                #expect(whole.map(\.seq) == Array(1...60), "a gap or a duplicate between replica A and replica B")
                for (offset, frame) in whole.enumerated().dropFirst() {
                    #expect(frame.event == .text(SyntheticProvider.vocabulary[(offset - 1) & 7]), "frame \(frame.seq)")
                }
                #expect(b.ledger.snapshot.started == 1, "replica B ran no producer of its own")
            }
        }
    }

    @Test func resumeOnTheOtherReplicaAfterTheEndReplaysTheRestAndTheStatus() async throws {
        try await RedisServerProcess.with { redis in
            try await withReplicas(redis) { _, portA, _, portB in
                let original = try await TokenwireClient.withConnection(host: "127.0.0.1", port: portA) { client in
                    try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 20)).collect()
                }
                Paced.expectWhole(original, count: 20)
                let token = try Paced.resumeToken(of: original)
                try await waitUntilMirrored(token, redis: redis, end: true)
                try await withTimeout(60, "the resumes on replica B") {
                    try await TokenwireClient.withConnection(host: "127.0.0.1", port: portB) { client in
                        let fromStart = try await client.generate(Paced.resumeRequest(token, after: 0)).collect()
                        #expect(fromStart == original)
                        let rest = try await client.generate(Paced.resumeRequest(token, after: 7)).collect()
                        #expect(rest == Array(original[7...]))
                        await #expect { _ = try await client.generate(Paced.resumeRequest(token, after: 40)).collect() } throws: { error in
                            (error as? TokenwireError)?.code == .outOfRange
                        }
                        let unknown = Paced.resumeRequest("00000000000000000000000000000000", after: 0)
                        await #expect { _ = try await client.generate(unknown).collect() } throws: { error in
                            (error as? TokenwireError)?.code == .notFound
                        }
                    }
                }
            }
        }
    }

    @Test func producerKilledEndsTheResumeOnTheOtherReplicaUnavailableNamingTheLastSeq() async throws {
        try await RedisServerProcess.with { redis in
            // Replica A is a `tokenwire serve` process, so that it can die for real.
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-replica-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: log) }
            let handle = try FileHandle(forWritingTo: log)
            let replicaA = try ChildProcess.spawn(
                CLITests().binary,
                ["serve", "--port", "0", "--paced-rate", "200", "--resume-store", "redis://127.0.0.1:\(redis.port)"],
                stdin: .null, stdout: .descriptor(handle.fileDescriptor), stderr: .descriptor(handle.fileDescriptor))
            try handle.close()
            defer {
                replicaA.signal(SIGKILL)
                _ = replicaA.waitUntilExit()
            }
            let portA = try await withTimeout(60, "replica A's 'listening' line") {
                while true {
                    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    if let match = text.firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) { return port }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await withTestServer(configure: { $0.resume.store = redis.address }) { _, portB in
                // Replica A dies while its client still reads (so no cancel reaches it).
                let before = try await withTimeout(60, "ten frames from replica A, then its death") {
                    try await TokenwireClient.withConnection(host: "127.0.0.1", port: portA, configuration: Paced.noResume) { client in
                        var frames: [TokenFrame] = []
                        var iterator = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)).makeAsyncIterator()
                        while frames.count < 10, let frame = try await iterator.next() { frames.append(frame) }
                        try await waitUntilMirrored(try Paced.resumeToken(of: frames), redis: redis)
                        replicaA.signal(SIGKILL)
                        _ = await replicaA.exit()
                        return frames
                    }
                }
                let token = try Paced.resumeToken(of: before)
                let (resumed, error) = try await withTimeout(60, "the resume on replica B to end") {
                    try await TokenwireClient.withConnection(host: "127.0.0.1", port: portB, configuration: Paced.noResume) { client in
                        var resumed: [TokenFrame] = []
                        let error = await Paced.drain(client.generate(Paced.resumeRequest(token, after: 10)), into: &resumed)
                        return (resumed, error)
                    }
                }
                let last = resumed.last?.seq ?? 10
                #expect(resumed.map(\.seq) == Array(stride(from: UInt64(11), through: last, by: 1)))
                #expect(error?.code == .unavailable && error?.message.contains("the last frame there will ever be is seq \(last)") == true,
                        "\(String(describing: error)) after \(resumed.count) frames")
            }
        }
    }

    @Test func redisStoppedMidStreamTheStreamAndASameReplicaResumeGoOn() async throws {
        let redis = try await RedisServerProcess.start()
        defer { Task { await redis.stop(kill: true) } }
        try await withTestServer(configure: { configuration in
            configuration.resume.store = redis.address
            configuration.pacedTokensPerSecond = 200
        }) { _, port in
            let proxy = try await TCPProxy.start(to: port)
            defer { Task { await proxy.stop() } }
            let before = try await withTimeout(60, "frames before and after Redis stopped, then the cut") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port, configuration: Paced.noResume) { client in
                    var frames: [TokenFrame] = []
                    var iterator = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)).makeAsyncIterator()
                    while frames.count < 10, let frame = try await iterator.next() { frames.append(frame) }
                    await redis.stop(kill: true)
                    while frames.count < 30, let frame = try await iterator.next() { frames.append(frame) }
                    await proxy.cut()
                    return frames
                }
            }
            let token = try Paced.resumeToken(of: before)
            let after = try await withTimeout(60, "the resume on the same replica") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    var frames: [TokenFrame] = []
                    for try await frame in client.generate(Paced.resumeRequest(token, after: 30)) {
                        frames.append(frame)
                        if frames.count == 20 { break }
                    }
                    return frames
                }
            }
            #expect((before + after).map(\.seq) == Array(1...50))
        }
    }
}
