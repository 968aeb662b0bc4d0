import NIOCore
import Testing
import TokenwireTestSupport
import TokenwireRedis

@Suite("Redis client against a real redis-server")
struct RedisConnectionTests {
    @Test func binaryValueWithANULRoundTrips() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            defer { connection.close() }
            let value = ByteBuffer(bytes: [0x61, 0x00, 0x0D, 0x0A, 0xFF])
            #expect(try await connection.send(RESPCommand("SET", [ByteBuffer(string: "k"), value])) == .simpleString("OK"))
            #expect(try await connection.send(RESPCommand("GET", "k")) == .bulkString(value))
            #expect(try await connection.send(RESPCommand("GET", "missing")) == .bulkString(nil))
        }
    }

    @Test func largeArgumentsWrittenAsTheirOwnBuffersArriveIntactBetweenSmallCommands() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            defer { connection.close() }
            // Arguments from 4,096 bytes on go out as buffers of their own (no copy into
            // the command's buffer); their neighbours, small and large, must not move.
            let sizes = [4095, 4096, 4097, 300_000, 10]
            let values = sizes.enumerated().map { index, size in
                ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
            }
            var commands: [RESPCommand] = []
            for (index, value) in values.enumerated() {
                commands.append(RESPCommand("SET", [ByteBuffer(string: "k\(index)"), value]))
                commands.append(RESPCommand("PING"))
            }
            let results = await connection.pipeline(commands)
            #expect(try results.map { try $0.get() } == Array(repeating: [RESPValue.simpleString("OK"), .simpleString("PONG")], count: sizes.count).flatMap { $0 })
            let read = await connection.pipeline(values.indices.map { RESPCommand("GET", "k\($0)") })
            #expect(try read.map { try $0.get() } == values.map { .bulkString($0) })
        }
    }

    @Test func thousandPipelinedCommandsAreAnsweredInOrder() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            defer { connection.close() }
            let results = await connection.pipeline(Array(repeating: RESPCommand("INCR", "counter"), count: 1000))
            #expect(try results.map { try $0.get() } == (1...1000).map { RESPValue.integer(Int64($0)) })
        }
    }

    @Test func errorReplyFailsOnlyItsOwnCommand() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            defer { connection.close() }
            let results = await connection.pipeline([
                RESPCommand("SET", "text", "x"), RESPCommand("XADD", "text", "1-1", "f", "v"), RESPCommand("PING"),
            ])
            #expect(try results[0].get() == .simpleString("OK"))
            guard case .failure(.server(command: "XADD", let message)) = results[1] else {
                Issue.record("expected XADD to fail with the server's error, got \(results[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(try results[2].get() == .simpleString("PONG"))
            #expect(connection.isActive)
        }
    }

    @Test func streamEntriesWithExplicitIDsComeBackInRange() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            defer { connection.close() }
            for seq in 1...3 {
                let id = try await connection.send(RESPCommand("XADD", "stream", "\(seq)-0", "frame", "payload \(seq)"))
                #expect(id == .bulkString(ByteBuffer(string: "\(seq)-0")))
            }
            let range = try await connection.send(RESPCommand("XRANGE", "stream", "2-0", "+"))
            let entries = try #require(range.elements)
            #expect(entries.map { $0.elements?.first?.string } == ["2-0", "3-0"])
            #expect(entries.map { $0.elements?.last?.elements?.last?.string } == ["payload 2", "payload 3"])
        }
    }

    @Test func commandWithoutAnswerTimesOutAndFailsTheOnesQueuedBehindIt() async throws {
        try await RedisServerProcess.with { server in
            let connection = try await RedisConnection.connect(to: server.address)
            // BLPOP on an empty list with no time limit never answers.
            let results = await connection.pipeline([RESPCommand("BLPOP", "empty", "0"), RESPCommand("PING")], timeout: .milliseconds(200))
            guard case .failure(.timedOut(command: "BLPOP", _)) = results[0] else {
                Issue.record("expected BLPOP to time out, got \(results[0])")
                return
            }
            guard case .failure(.connectionLost(command: "PING", _)) = results[1] else {
                Issue.record("expected PING to fail with the connection, got \(results[1])")
                return
            }
            await connection.waitUntilClosed()
            await #expect(throws: RedisError.self) { try await connection.send(RESPCommand("PING")) }
        }
    }

    @Test func serverKilledMidCommandFailsItWithConnectionLost() async throws {
        let server = try await RedisServerProcess.start()
        let connection = try await RedisConnection.connect(to: server.address)
        defer { connection.close() }
        async let blocked = connection.send(RESPCommand("BLPOP", "empty", "0"), timeout: .seconds(60))
        // The BLPOP is in the server's hands once the server reports a blocked client.
        let giveUp = ContinuousClock.now + .seconds(30)
        let observer = try await RedisConnection.connect(to: server.address)
        while ContinuousClock.now < giveUp {
            let info = try await observer.send(RESPCommand("INFO", "clients")).string ?? ""
            if info.contains("blocked_clients:1") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.stop(kill: true)
        do {
            _ = try await blocked
            Issue.record("BLPOP was answered by a killed server")
        } catch let error as RedisError {
            guard case .connectionLost(command: "BLPOP", _) = error else {
                Issue.record("expected connectionLost, got \(error)")
                return
            }
        }
    }

    @Test func clientReconnectsAfterTheServerRestartsOnItsPort() async throws {
        let first = try await RedisServerProcess.start()
        let client = RedisClient(address: first.address, backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(200)))
        defer { client.shutdown() }
        #expect(try await client.send(RESPCommand("PING")) == .simpleString("PONG"))

        await first.stop(kill: true)
        // Down: the next command fails at once, naming the server: connectionLost if it went
        // out on the dying connection before the close was seen, cannotConnect after.
        do {
            _ = try await client.send(RESPCommand("PING"))
            Issue.record("PING succeeded with the server down")
        } catch let error as RedisError {
            #expect("\(error)".contains("127.0.0.1:\(first.port)"))
        }

        let second = try await RedisServerProcess.start(port: first.port)
        // Back: within the backoff's bound a command gets through on a new connection.
        let giveUp = ContinuousClock.now + .seconds(30)
        var answer: RESPValue?
        while answer == nil, ContinuousClock.now < giveUp {
            answer = try? await client.send(RESPCommand("PING"))
            if answer == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        await second.stop()
        #expect(answer == .simpleString("PONG"))
    }
}
