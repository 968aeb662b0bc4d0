import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

@Suite("Admission: the server-wide limit of active calls")
struct AdmissionTests {
    @Test func callsPastTheActiveCallLimitGetResourceExhaustedNamingTheLimit() async throws {
        let hold = HoldGate()
        try await withBatchServer(hold: hold, configure: { $0.limits.maxActiveCalls = 2 }) { server, client in
            // Two calls that hold their slots until cancelled.
            let holders = (0..<2).map { _ in
                Task { for try await _ in client.generate(GenerateRequest(model: "scripted/hold")) {} }
            }
            try await withTimeout(30, "both holding calls to start") { await hold.waitUntilHeld(2) }
            #expect(server.admission.snapshot.active == 2)

            let expected = "server is at its limit of 2 active calls (--max-active-calls); retry later"
            let generate = await #expect(throws: TokenwireError.self) {
                for try await _ in client.generate(GenerateRequest(model: "synthetic/flood")) {}
            }
            #expect(generate?.code == .resourceExhausted)
            #expect(generate?.message == expected)
            let complete = await #expect(throws: TokenwireError.self) {
                _ = try await client.complete(GenerateRequest(model: "synthetic/flood"))
            }
            #expect(complete?.code == .resourceExhausted)
            let batch = await #expect(throws: TokenwireError.self) {
                _ = try await client.generateBatch(BatchRequest(items: [GenerateRequest(model: "synthetic/flood")])).collect()
            }
            #expect(batch?.code == .resourceExhausted)
            #expect(batch?.message == expected)

            holders[0].cancel()
            _ = try await withTimeout(30, "the cancelled call to end") { await server.ledger.wait { $0.ended.contains { $0.clientCancelled } } }
            let completion = try await client.complete(GenerateRequest(model: "synthetic/flood", maxTokens: 3))
            #expect(completion.text == "the quick brown ")
            holders[1].cancel()
        }
    }

    @Test func callsPastTheConnectionsStreamLimitWaitOnTheClientAndAllComplete() async throws {
        // SETTINGS_MAX_CONCURRENT_STREAMS: a compliant client (ours, grpcio) holds further
        // calls until a stream closes; the server never runs more than the limit.
        let probe = ConcurrencyProbe(barrier: 4)
        try await withBatchServer(probe: probe, configure: { $0.http2.maxConcurrentStreams = 4 }) { _, client in
            // One call first, so the client has the server's SETTINGS before it opens 16 streams
            // (streams opened earlier than that are refused: REFUSED_STREAM, UNAVAILABLE, retryable).
            #expect(try await client.checkHealth() == .serving)
            let completions = try await withTimeout(60, "16 calls over 4 streams") {
                try await withThrowingTaskGroup(of: Completion.self) { group in
                    for _ in 0..<16 { group.addTask { try await client.complete(GenerateRequest(model: "scripted/barrier")) } }
                    var completions: [Completion] = []
                    for try await completion in group { completions.append(completion) }
                    return completions
                }
            }
            #expect(completions.count == 16)
            #expect(completions.allSatisfy { $0.text == "met " })
        }
        #expect(probe.most == 4)
    }

    @Test func batchItemsWaitForFreeSlotsAndTheBatchStillCompletes() async throws {
        let probe = ConcurrencyProbe(barrier: 2)
        try await withBatchServer(probe: probe, configure: { $0.limits.maxActiveCalls = 3 }) { server, client in
            let (started, signal) = AsyncStream<Void>.makeStream()
            let holder = Task {
                for try await _ in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)) { signal.yield() }
            }
            try await nextSignal(started, "the holding call's first frame")
            // Two slots are free: the batch is admitted, and its 16 lanes share those two.
            let items = Array(repeating: GenerateRequest(model: "scripted/barrier"), count: 60)
            let results = try await withTimeout(60, "the batch to finish") {
                try await client.generateBatch(BatchRequest(items: items, maxConcurrency: 16)).collect()
            }
            #expect(results.count == 60)
            #expect(results.allSatisfy { $0.succeeded })
            let snapshot = server.admission.snapshot
            #expect(snapshot.active == 1)
            #expect(snapshot.waiting == 0)
            holder.cancel()
        }
        #expect(probe.most == 2)
    }
}
