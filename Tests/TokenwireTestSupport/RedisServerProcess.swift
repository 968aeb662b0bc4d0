import Foundation
import NIOCore
import NIOPosix
import Testing
public import TokenwireProcess
public import TokenwireRedis

/// A real `redis-server` for one test: on a free loopback port, no persistence, in its own
/// directory; stopped (SIGKILL if need be) by `stop()`.
public final class RedisServerProcess: Sendable {
    public let port: Int
    public let process: ChildProcess
    let directory: URL

    public var address: RedisAddress { RedisAddress(host: "127.0.0.1", port: port) }

    private init(port: Int, process: ChildProcess, directory: URL) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    static let executable = "/usr/bin/redis-server"

    /// Starts redis-server on `port` (a free one if nil) and waits until it answers PING.
    public static func start(port: Int? = nil) async throws -> RedisServerProcess {
        try #require(
            FileManager.default.isExecutableFile(atPath: executable),
            "\(executable) is missing: install the Debian package redis-server (tools/bootstrap.sh does)")
        if let port { return try await start(on: port) }
        // A port picked here may be taken before redis-server binds it (another test's
        // socket): then it exits saying so, and another port is picked.
        var attempt = 1
        while true {
            do {
                return try await start(on: try await freePort())
            } catch let error as RedisServerDidNotStart where error.output.contains("Address already in use") && attempt < 5 {
                attempt += 1
            }
        }
    }

    private static func start(on port: Int) async throws -> RedisServerProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("redis.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = try ChildProcess.spawn(
            executable,
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
             "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"],
            directory: directory.path, stdin: .null, stdout: .descriptor(handle.fileDescriptor),
            stderr: .descriptor(handle.fileDescriptor))
        let server = RedisServerProcess(port: port, process: process, directory: directory)
        // Ready when it answers; a start on a loaded machine gets 30 s.
        let giveUp = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < giveUp {
            if !process.isRunning { break }
            if let connection = try? await RedisConnection.connect(to: server.address) {
                defer { connection.close() }
                if (try? await connection.send(RESPCommand("PING"))) == .simpleString("PONG") { return server }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let running = process.isRunning
        await server.stop()
        throw RedisServerDidNotStart(port: port, running: running, output: String(output.suffix(2000)))
    }

    /// Runs `body` with a started server, and stops the server when `body` returns or throws.
    public static func with<T>(_ body: (RedisServerProcess) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Stops the server: SIGKILL when `kill` (a crash, as a test wants it), else SIGTERM.
    public func stop(kill: Bool = false) async {
        process.signal(kill ? SIGKILL : SIGTERM)
        let killAt = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < killAt { try? await Task.sleep(for: .milliseconds(20)) }
        process.signal(SIGKILL)
        _ = await process.exit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback port nobody listens on now (bound, then released), picked from
    /// 20000–29999, below Linux's ephemeral range (32768 and up), so that no test's outgoing
    /// connection takes it before the server that wants it binds it.
    public static func freePort() async throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20000..<30000)
            guard let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get()
            else { continue }
            try await channel.close().get()
            return port
        }
        throw RedisServerDidNotStart(port: 0, running: false, output: "no free port in 20000-29999 after 100 tries")
    }
}

struct RedisServerDidNotStart: Error, CustomStringConvertible {
    var port: Int
    var running: Bool
    var output: String

    var description: String {
        "redis-server on port \(port) did not answer PING within 30 s (\(running ? "still running" : "it exited")); its log:\n\(output)"
    }
}
