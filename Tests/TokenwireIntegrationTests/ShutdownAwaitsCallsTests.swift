import Dispatch
import Synchronization
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProviders
import TokenwireServer

/// Shutdown does not return, and the event loops do not close, under a running call: after
/// the drain timeout it cancels the calls and waits for their tasks to end.
@Suite("Shutdown awaits the calls it cancels")
struct ShutdownAwaitsCallsTests {
    /// `slowstop/m`: one token, then waits for cancellation; once cancelled it takes 300 ms
    /// (that no cancellation can cut short) to stop, like a provider closing its upstream.
    final class SlowToStopProvider: TokenProvider {
        let name = "slowstop"
        let models = ["slowstop/m"]
        let stopped = Mutex(false)

        func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws {
            try await sink.send(.text("first "))
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { continuation.resume() }
                }
                stopped.withLock { $0 = true }
                throw error
            }
        }
    }

    @Test func shutdownPastTheDrainTimeoutReturnsOnlyAfterItsCallsHaveEnded() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .error
        configuration.drainTimeout = .milliseconds(100)
        let provider = SlowToStopProvider()
        let server = TokenwireServer(configuration: configuration, providers: [provider])
        try await server.start()
        let port = try #require(server.port)
        try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            var frames = client.generate(GenerateRequest(model: "slowstop/m")).makeAsyncIterator()
            _ = try await frames.next()  // StreamStart
            #expect(try await frames.next()?.event == .text("first "))
            await server.shutdown()
            #expect(provider.stopped.withLock { $0 })
            #expect(server.ledger.snapshot.active == 0)
        }
    }
}
