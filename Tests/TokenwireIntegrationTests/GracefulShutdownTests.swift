import Foundation
import Testing
import TokenwireClient
import TokenwireCore
@testable import TokenwireServer
import TokenwireTestSupport

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test func shutdownLetsOpenCallsFinishAndTurnsHealthNotServing() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .error
        configuration.pacedTokensPerSecond = 100
        configuration.drainTimeout = .seconds(20)
        let server = TokenwireServer(configuration: configuration)
        try await server.start()
        let port = try #require(server.port)
        let client = try await TokenwireClient.connect(host: "127.0.0.1", port: port)
        let (started, signal) = AsyncStream<Void>.makeStream()
        let consumer = Task {
            var frames: [TokenFrame] = []
            for try await frame in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 30)) {
                frames.append(frame)
                signal.yield()
            }
            return frames
        }
        try await nextSignal(started, "the call's first frame")
        let shutdown = Task { await server.shutdown() }
        let frames = try await withTimeout(20, "the open call to finish") { try await consumer.value }
        #expect(frames.count == 32)
        #expect(server.health.status(of: "") == .notServing)
        await shutdown.value
        await client.close()
        let error = await #expect(throws: TokenwireError.self) { _ = try await TokenwireClient.connect(host: "127.0.0.1", port: port) }
        #expect(error?.code == .unavailable)
    }

    @Test func callsOnConnectionsTheKernelCompletedBeforeTheListenerClosedAreServedNotReset() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .error
        configuration.drainTimeout = .seconds(20)
        let server = TokenwireServer(configuration: configuration)
        try await server.start()
        let port = try #require(server.port)
        let loop = try #require(server.listenerEventLoop)
        // Hold the listener's loop: connections made meanwhile wait in the kernel's accept
        // queue with their calls written, as nginx writes a call on a connection it has
        // just made (the raw client sends its preface, SETTINGS and the call at once).
        let (holding, hold) = AsyncStream<Void>.makeStream()
        let release = DispatchSemaphore(value: 0)
        let held = loop.submit {
            hold.yield()
            _ = release.wait(timeout: .now() + 30)
        }
        try await nextSignal(holding, "the listener's loop to be held")
        let calls = (0..<5).map { _ in
            Task {
                let client = try await RawHTTP2Client.connect(port: port)
                defer { Task { await client.close() } }
                return try await client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(floodRequestBytes))
            }
        }
        try await waitUntil(20, "five connections in the accept queue, each with its call") {
            Self.unacceptedConnectionsWithData(port: port) >= 5
        }
        // The close is asked for while they wait (it runs once the loop is free): closing
        // the listener then would reset them, calls and all.
        let shutdown = Task { await server.shutdown() }
        try await waitUntil(20, "the shutdown to begin") { server.health.status(of: "") == .notServing }
        try await Task.sleep(for: .milliseconds(100))
        release.signal()
        try await held.get()
        for call in calls {
            let response = try await withTimeout(30, "a call made while the listener was busy") { try await call.value }
            #expect(response.grpcStatus == 0, "status \(String(describing: response.grpcStatus)) \(response.grpcMessage), reset \(String(describing: response.resetCode))")
            #expect(!response.data.isEmpty)
        }
        await shutdown.value
    }

    /// Established connections to `port` on this host with bytes the server has not read:
    /// before the server accepts them, these are the ones in the accept queue with their
    /// calls written (`/proc/net/tcp`: the local port, state 01, the receive queue).
    private static func unacceptedConnectionsWithData(port: Int) -> Int {
        // Read to the end: the kernel makes the file a page at a time, and a read of its
        // stated size (0) gets the first page only.
        guard let data = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp")).readToEnd() else { return 0 }
        let table = String(decoding: data, as: UTF8.self)
        let localPort = String(format: "%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[1].hasSuffix(":" + localPort), fields[3] == "01" else { return false }
            let queues = fields[4].split(separator: ":")
            return queues.count == 2 && (Int(queues[1], radix: 16) ?? 0) > 0
        }.count
    }
}
