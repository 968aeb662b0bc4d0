import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

/// A real server with `ScriptedProvider` next to `synthetic`, and a connected client.
func withBatchServer<R: Sendable>(
    probe: ConcurrencyProbe = ConcurrencyProbe(barrier: 1),
    hold: HoldGate = HoldGate(),
    tally: ProductionTally = ProductionTally(),
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (TokenwireServer, TokenwireClient) async throws -> R
) async throws -> R {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.logLevel = .error
    configuration.drainTimeout = .seconds(20)
    configure(&configuration)
    let server = TokenwireServer(configuration: configuration, providers: [ScriptedProvider(probe: probe, hold: hold, tally: tally)])
    try await server.start()
    let port = try #require(server.port)
    do {
        let result = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            try await body(server, client)
        }
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// Reads a batch's raw frames until the call ends; the error, if it did not end with OK.
func readBatchFrames(_ stream: TokenFrameStream) async -> (frames: [TokenFrame], error: TokenwireError?) {
    var frames: [TokenFrame] = []
    do {
        for try await frame in stream { frames.append(frame) }
        return (frames, nil)
    } catch {
        return (frames, error as? TokenwireError ?? TokenwireError(code: .unknown, message: "\(error)"))
    }
}

/// Checks a batch response's framing, independently of the client's assembler: seq 1, 2, 3,
/// … without gaps; each item's frames open with one StreamStart and close with one Finish
/// or ItemError. Returns each item's events after its StreamStart, by index.
func checkBatchFraming(
    _ frames: [TokenFrame], items: Int, mustEnd: BatchEndCheck = .everyItem, sourceLocation: SourceLocation = #_sourceLocation
) -> [Int: [TokenEvent]] {
    var events: [Int: [TokenEvent]] = [:]
    var ended: Set<Int> = []
    for (offset, frame) in frames.enumerated() {
        let index = Int(frame.index)
        guard frame.seq == UInt64(offset + 1) else {
            Issue.record("frame \(offset) has seq \(frame.seq)", sourceLocation: sourceLocation)
            return events
        }
        guard index < items, !ended.contains(index) else {
            Issue.record("frame seq \(frame.seq) for item \(index), which is out of range or already ended", sourceLocation: sourceLocation)
            return events
        }
        switch frame.event {
        case .start:
            if events[index] != nil { Issue.record("item \(index) started twice", sourceLocation: sourceLocation) }
            events[index] = []
        case .some(let event):
            guard events[index] != nil else {
                Issue.record("item \(index) sent \(event) before its StreamStart", sourceLocation: sourceLocation)
                return events
            }
            events[index]!.append(event)
            if case .finish = event { ended.insert(index) }
            if case .error = event { ended.insert(index) }
        case nil:
            Issue.record("frame seq \(frame.seq) has no event", sourceLocation: sourceLocation)
        }
    }
    switch mustEnd {
    case .everyItem:
        #expect(ended.count == items, "\(items - ended.count) items never ended", sourceLocation: sourceLocation)
    case .everyStartedItem:
        #expect(Set(events.keys) == ended, "items started but never ended: \(Set(events.keys).subtracting(ended).sorted())", sourceLocation: sourceLocation)
    case .noItem:
        break
    }
    return events
}

/// Which items of a batch response must have ended.
enum BatchEndCheck {
    case everyItem, everyStartedItem, noItem
}

/// The events `synthetic/flood` sends for `count` tokens, after StreamStart.
func floodEvents(_ count: Int) -> [TokenEvent] {
    (0..<count).map { .text(SyntheticProvider.vocabulary[$0 % 8]) }
        + [.finish(Finish(reason: "length", usage: Usage(outputTokens: UInt32(count))))]
}

@Suite("GenerateBatch on loopback")
struct BatchTests {
    @Test func fiveHundredSyntheticItemsAtConcurrency32AllArriveCompleteAndInOrder() async throws {
        try await withBatchServer { server, client in
            let items = (0..<500).map { GenerateRequest(model: "synthetic/flood", maxTokens: UInt32(1 + $0 % 40)) }
            let (frames, error) = await readBatchFrames(client.generateBatchFrames(BatchRequest(items: items, maxConcurrency: 32)))
            #expect(error == nil)
            let events = checkBatchFraming(frames, items: 500)
            for index in 0..<500 where events[index] != floodEvents(1 + index % 40) {
                Issue.record("item \(index) has the wrong frames: \(events[index] ?? [])")
                break
            }
            let starts = frames.compactMap { frame -> StreamStart? in if case .start(let start) = frame.event { start } else { nil } }
            #expect(starts.allSatisfy { $0.model == "synthetic/flood" && $0.provider == "synthetic" })
            #expect(Set(starts.map(\.streamID)).count == 500)
            let results = try await client.generateBatch(BatchRequest(items: items, maxConcurrency: 32)).collect()
            #expect(results.map(\.index) == Array(0..<500))
            #expect(results.allSatisfy { $0.succeeded && $0.finish?.usage?.outputTokens == UInt32(1 + $0.index % 40) })
            #expect(server.admission.snapshot.active == 0)
        }
    }

    @Test func failingItemsEndWithItemErrorAndTheOtherItemsComplete() async throws {
        try await withBatchServer { _, client in
            let models = (0..<60).map { index -> String in
                switch index % 10 {
                case 3: "nope/none"
                case 5: "scripted/fail-after-2"
                case 7: "scripted/no-finish"
                default: "synthetic/flood"
                }
            }
            let request = BatchRequest(items: models.map { GenerateRequest(model: $0, maxTokens: 20) }, maxConcurrency: 8)
            let (frames, error) = await readBatchFrames(client.generateBatchFrames(request))
            #expect(error == nil, "one failed item must not end the call")
            let events = checkBatchFraming(frames, items: 60)
            for (index, model) in models.enumerated() {
                let item = events[index] ?? []
                switch model {
                case "nope/none":
                    guard case .error(let error) = item.last, item.count == 1 else { Issue.record("item \(index): \(item)"); continue }
                    #expect(error.code == UInt32(GRPCStatus.Code.notFound.rawValue))
                    #expect(error.message.contains("unknown model 'nope/none'"))
                case "scripted/fail-after-2":
                    #expect(item.prefix(2) == [.text("one "), .text("two ")], "item \(index)")
                    #expect(item.last == .error(ItemError(code: UInt32(GRPCStatus.Code.unavailable.rawValue), message: "scripted upstream failure after 2 tokens")))
                case "scripted/no-finish":
                    guard case .error(let error) = item.last else { Issue.record("item \(index): \(item)"); continue }
                    #expect(error.code == UInt32(GRPCStatus.Code.internal.rawValue))
                    #expect(error.message.contains("without a Finish"))
                default:
                    #expect(item == floodEvents(20), "item \(index)")
                }
            }
            let results = try await client.generateBatch(request).collect()
            #expect(results.filter(\.succeeded).count == 42)
            #expect(results.filter { $0.error != nil }.count == 18)
        }
    }

    @Test(arguments: [
        (requested: UInt32(6), serverDefault: 8, serverMax: 256, expected: 6),
        (requested: UInt32(0), serverDefault: 3, serverMax: 256, expected: 3),
        (requested: UInt32(50), serverDefault: 8, serverMax: 4, expected: 4),
    ])
    func batchRunsAsManyItemsAtOnceAsAllowedAndNoMore(requested: UInt32, serverDefault: Int, serverMax: Int, expected: Int) async throws {
        let probe = ConcurrencyProbe(barrier: expected)
        try await withBatchServer(probe: probe, configure: {
            $0.limits.batchDefaultConcurrency = serverDefault
            $0.limits.batchMaxConcurrency = serverMax
        }) { _, client in
            let items = Array(repeating: GenerateRequest(model: "scripted/barrier"), count: 40)
            // Fewer items at once than the barrier would never end: the timeout catches that.
            let results = try await withTimeout(60, "the batch to run \(expected) items at once") {
                try await client.generateBatch(BatchRequest(items: items, maxConcurrency: requested)).collect()
            }
            #expect(results.count == 40)
            #expect(results.allSatisfy { $0.text == "met " && $0.finish?.reason == "stop" })
        }
        #expect(probe.most == expected)
    }

    @Test func emptyBatchEndsWithOKAndNoFrames() async throws {
        try await withBatchServer { _, client in
            let (frames, error) = await readBatchFrames(client.generateBatchFrames(BatchRequest(items: [])))
            #expect(frames.isEmpty)
            #expect(error == nil)
        }
    }

    @Test func toolCallFragmentsAreJoinedIntoOneCallPerItem() async throws {
        try await withBatchServer { _, client in
            let items = [GenerateRequest(model: "scripted/tools"), GenerateRequest(model: "synthetic/flood", maxTokens: 2), GenerateRequest(model: "scripted/tools")]
            let results = try await client.generateBatch(BatchRequest(items: items)).collect()
            #expect(results.count == 3)
            for index in [0, 2] {
                #expect(results[index].toolCalls == [ToolCall(id: "call_1", name: "lookup", arguments: "{\"q\":\"tokens\"}")])
                #expect(results[index].finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 3, outputTokens: 3)))
                #expect(results[index].provider == "scripted")
            }
            #expect(results[1].text == "the quick ")
        }
    }

    @Test func deadlineEndsTheWholeBatchWithDeadlineExceededAndFreesItsSlots() async throws {
        // Two slots: the batch's anchor and one more. Of its 4 lanes, two run `scripted/hold`
        // items (a token each, then they hold until cancelled) and two wait for a slot; only
        // the deadline can end the call. It is long enough for the items to start on a
        // loaded machine, and the test does not depend on when within it they do.
        let hold = HoldGate()
        try await withBatchServer(hold: hold, configure: { $0.limits.maxActiveCalls = 2 }) { server, client in
            let items = Array(repeating: GenerateRequest(model: "scripted/hold"), count: 20)
            let reader = Task {
                await readBatchFrames(
                    // Twice the usual budget: the deadline must not pass before the test has
                    // seen both lanes wait, which takes longest of all on a loaded machine.
                    client.generateBatchFrames(BatchRequest(items: items, maxConcurrency: 4), deadline: callDeadlineBudget * 2))
            }
            try await withTimeout(30, "two batch items to hold") { await hold.waitUntilHeld(2) }
            try await waitUntil(30, "two lanes to wait for a slot") { server.admission.snapshot.waiting == 2 }
            #expect(server.admission.snapshot.active == 2)
            let (frames, error) = try await withTimeout(90, "the deadline to end the batch") { await reader.value }
            #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
            let events = checkBatchFraming(frames, items: 20, mustEnd: .noItem)
            #expect(events == [0: [.text("held ")], 1: [.text("held ")]], "the two running items' frames, and no other item's")
            let snapshot = try await withTimeout(30, "the server to end the call") { await server.ledger.wait { $0.active == 0 && $0.ended.count == 1 } }
            #expect([.deadlineExceeded, .cancelled].contains(snapshot.ended[0].status.code))
            #expect(hold.holding == 0, "the deadline cancels the held items")
            #expect(server.admission.snapshot.active == 0)
            #expect(server.admission.snapshot.waiting == 0, "the lanes that waited for a slot stop waiting")
        }
    }

    @Test func cancellingTheConsumerStopsEveryItemAndFreesTheSlots() async throws {
        try await withBatchServer { server, client in
            let items = Array(repeating: GenerateRequest(model: "synthetic/flood", maxTokens: 10_000_000), count: 16)
            let (firstFrames, signal) = AsyncStream<Void>.makeStream()
            let consumer = Task {
                var count = 0
                for try await _ in client.generateBatchFrames(BatchRequest(items: items, maxConcurrency: 8)) {
                    count += 1
                    if count == 1000 { signal.yield() }
                }
            }
            try await nextSignal(firstFrames, "the batch's first 1000 frames")
            #expect(server.admission.snapshot.active == 8)
            consumer.cancel()
            let snapshot = try await withTimeout(30, "the server to see the cancellation") { await server.ledger.wait { $0.ended.count == 1 } }
            #expect(snapshot.ended[0].clientCancelled)
            #expect(snapshot.ended[0].status.code == .cancelled)
            #expect(server.admission.snapshot.active == 0)
        }
    }

    @Test func shutdownStartsNoNewItemsLetsRunningOnesFinishAndEndsWithUnavailable() async throws {
        try await withBatchServer(configure: { $0.pacedTokensPerSecond = 200 }) { server, client in
            // 400 items of 0.1 s, 2 at a time: 20 s of work, so the shutdown surely comes first.
            let items = Array(repeating: GenerateRequest(model: "synthetic/paced", maxTokens: 20), count: 400)
            let (firstResult, signal) = AsyncStream<Void>.makeStream()
            let reader = Task {
                var frames: [TokenFrame] = []
                do {
                    for try await frame in client.generateBatchFrames(BatchRequest(items: items, maxConcurrency: 2)) {
                        frames.append(frame)
                        if case .finish = frame.event { signal.yield() }
                    }
                    return (frames, TokenwireError?.none)
                } catch {
                    return (frames, error as? TokenwireError)
                }
            }
            try await nextSignal(firstResult, "the batch's first finished item")
            let shutdown = Task { await server.shutdown() }
            let (frames, error) = try await withTimeout(30, "the batch to end") { await reader.value }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("were not started") == true)
            let events = checkBatchFraming(frames, items: 400, mustEnd: .everyStartedItem)
            #expect(events.count < 400)
            #expect(events.values.allSatisfy { $0 == floodEvents(20) })
            await shutdown.value
        }
    }
}
