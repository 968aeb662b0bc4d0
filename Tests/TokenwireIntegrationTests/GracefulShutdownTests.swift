import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
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
}
