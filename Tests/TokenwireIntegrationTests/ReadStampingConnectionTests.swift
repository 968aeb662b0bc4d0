import NIOPosix
import Testing
import TokenwireCore
import TokenwireTestSupport

@testable import tokenwire_bench

/// `relay-load --client raw`'s connection against a real server: what it counts is what the
/// benchmark reports, so each way a call can end is checked here.
@Suite struct ReadStampingConnectionTests {
    static func call(_ request: GenerateRequest, port: Int, timeout: Double = 30) async throws -> ReadStampingCall.Result {
        let connection = try await ReadStampingConnection.open(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        let result = await connection.generate(request, timeout: timeout)
        await connection.close()
        return result
    }

    @Test func aCallCountsEveryTextFrameAndItsFinishAndEndsOK() async throws {
        try await withTestServer { _, port in
            let result = try await withTimeout(30, "a 50-token call") {
                try await Self.call(GenerateRequest(model: "synthetic/flood", maxTokens: 50), port: port)
            }
            #expect(result.error == nil)
            #expect(result.request.tokens == 50)
            #expect(result.tally.textFrames == 50)
            #expect(result.tally.unstampedTokens == 50)
            #expect(result.request.finish?.reason == "length")
            let ttft = try #require(result.request.timeToFirstToken)
            #expect(ttft > 0)
            // The tally the worker merges holds the frames, not the request's verdict.
            #expect(result.tally.ok == 0 && result.tally.tokens == 0)
        }
    }

    @Test func theServersStatusIsTheCallsError() async throws {
        try await withTestServer { _, port in
            let result = try await withTimeout(30, "a call of an unknown model") {
                try await Self.call(GenerateRequest(model: "synthetic/no-such-model", maxTokens: 5), port: port)
            }
            #expect(result.error?.code == .notFound)
            #expect(result.request.tokens == 0)
        }
    }

    @Test func aCallPastItsTimeoutEndsWithDeadlineExceeded() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 20 }) { _, port in
            let result = try await withTimeout(30, "a paced call with a 0.3 s timeout") {
                try await Self.call(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000), port: port, timeout: 0.3)
            }
            #expect(result.error?.code == .deadlineExceeded)
        }
    }

    @Test func cancellingTheTaskResetsTheCallAndReturnsWhatItGot() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 200 }) { _, port in
            let connection = try await ReadStampingConnection.open(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            let call = Task { await connection.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000), timeout: 600) }
            try await Task.sleep(for: .milliseconds(300))
            call.cancel()
            let result = try await withTimeout(30, "the cancelled call's end") { await call.value }
            #expect(result.error?.code == .cancelled)
            await connection.close()
        }
    }

    @Test func aCallOnALostConnectionEndsUnavailableNamingTheConnection() async throws {
        let connection = try await withTestServer { _, port in
            try await ReadStampingConnection.open(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        }
        let result = try await withTimeout(30, "a call after the server shut down") {
            await connection.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 5), timeout: 5)
        }
        #expect(result.error?.code == .unavailable)
        #expect(result.error?.message.contains("127.0.0.1") == true)
        await connection.close()
    }
}
