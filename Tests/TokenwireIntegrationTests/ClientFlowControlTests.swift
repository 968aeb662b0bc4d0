import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

@Suite("Client flow control")
struct ClientFlowControlTests {
    /// A call that ends while its reader is behind (frames held back above the client's
    /// buffer) must give those bytes back to the connection's window, which all calls
    /// share: ten such calls of 40 KB each pass through a 128 KiB connection window.
    @Test func callsEndingWhileTheirReaderIsBehindGiveTheConnectionItsWindowBack() async throws {
        var configuration = ClientConfiguration()
        configuration.http2.connectionWindowSize = 128 * 1024
        configuration.http2.initialWindowSize = 64 * 1024
        configuration.bufferedFrames = 4
        try await withTestServer { server, port in
            let client = try await TokenwireClient.connect(host: "127.0.0.1", port: port, configuration: configuration)
            defer { Task { await client.close() } }
            // Without its window back, the connection stalls for good: the bound fails the test.
            try await withTimeout(180, "ten calls through one connection window") {
                for call in 1...10 {
                    var iterator = client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3_000)).makeAsyncIterator()
                    var frames = [try #require(try await iterator.next())]
                    // The whole answer fits the stream's window: the server ends the call
                    // while the reader still holds back most of it.
                    _ = try await withTimeout(20, "call \(call) to end on the server") {
                        await server.ledger.wait { $0.ended.count == call }
                    }
                    while let frame = try await iterator.next() { frames.append(frame) }
                    checkFloodFrames(frames, count: 3_000)
                }
            }
        }
    }
}
