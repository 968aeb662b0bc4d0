import NIOPosix
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

@Suite("Our client against the real server on loopback")
struct ClientStreamingTests {
    @Test func tenThousandFrameStreamArrivesCompleteAndInOrder() async throws {
        try await withServerAndClient { _, client in
            var frames: [TokenFrame] = []
            for try await frame in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 10_000)) {
                frames.append(frame)
            }
            checkFloodFrames(frames, count: 10_000)
        }
    }

    @Test func theResponsesHeadersAndTrailersAreReadableFromTheStream() async throws {
        try await withServerAndClient { _, client in
            let stream = client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3))
            #expect(stream.responseMetadata.trailers == nil)
            _ = try await stream.collect()
            let headers = try #require(stream.responseMetadata.headers)
            #expect(headers.contains { $0.name == "content-type" && $0.value == "application/grpc" })
            #expect(!headers.contains { $0.name.hasPrefix(":") })
            let trailers = try #require(stream.responseMetadata.trailers)
            #expect(trailers.contains { $0.name == "grpc-status" && $0.value == "0" })

            // A call answered with trailers only: the same fields as headers and trailers.
            let refused = client.call("/tokenwire.v1.TokenStream/Generate", GenerateRequest(model: "nope/none"))
            await #expect(throws: TokenwireError.self) { for try await _ in refused {} }
            #expect(refused.responseMetadata.value(of: "grpc-status") == "5")
            #expect(refused.responseMetadata.trailers?.first { $0.name == "grpc-message" }?.value.contains("unknown model") == true, "\(refused.responseMetadata.trailers ?? [])")
        }
    }

    @Test func hundredConcurrentCallsShareOneConnection() async throws {
        try await withServerAndClient { server, client in
            try await withThrowingTaskGroup(of: [TokenFrame].self) { group in
                for call in 0..<100 {
                    group.addTask {
                        var frames: [TokenFrame] = []
                        for try await frame in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: UInt32(200 + call))) {
                            frames.append(frame)
                        }
                        return frames
                    }
                }
                var seen = 0
                for try await frames in group {
                    guard case .finish(let finish) = frames.last?.event, let n = finish.usage?.outputTokens else {
                        Issue.record("a call ended without a finish frame")
                        continue
                    }
                    checkFloodFrames(frames, count: Int(n))
                    seen += 1
                }
                #expect(seen == 100)
            }
            #expect(server.ledger.snapshot.started == 100)
        }
    }

    @Test func cancellingTheConsumingTaskStopsTheServerProducer() async throws {
        try await withServerAndClient { server, client in
            let (firstFrames, signal) = AsyncStream<Void>.makeStream()
            let consumer = Task {
                var count = 0
                for try await _ in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 100_000_000)) {
                    count += 1
                    if count == 100 { signal.yield() }
                }
            }
            try await nextSignal(firstFrames, "the first 100 frames")
            consumer.cancel()
            let result = await consumer.result
            #expect(throws: CancellationError.self, "a cancelled consumer sees CancellationError, as Swift code expects") { try result.get() }
            let ended = try await withTimeout(30, "the server to see the cancellation") {
                await server.ledger.wait { $0.ended.count == 1 }
            }
            #expect(ended.ended[0].status.code == .cancelled)
            #expect(ended.ended[0].clientCancelled)
            #expect(ended.active == 0)
        }
    }

    @Test func expiredDeadlineEndsTheCallWithDeadlineExceeded() async throws {
        // `scripted/hold` sends its token, then holds until cancelled: only the deadline
        // ends the call, and its frames are out long before it.
        let hold = HoldGate()
        try await withBatchServer(hold: hold) { server, client in
            var frames: [TokenFrame] = []
            let error = await #expect(throws: TokenwireError.self) {
                for try await frame in client.generate(GenerateRequest(model: "scripted/hold"), deadline: callDeadlineBudget) {
                    frames.append(frame)
                }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(frames.map(\.seq) == [1, 2], "StreamStart and the token sent before the deadline")
            #expect(frames.last?.event == .text("held "))
            let ended = try await withTimeout(30, "the server to end the call") { await server.ledger.wait { $0.active == 0 && $0.ended.count == 1 } }
            #expect([.deadlineExceeded, .cancelled].contains(ended.ended[0].status.code))
            #expect(hold.holding == 0, "the deadline cancels the provider")
        }
    }

    @Test func absoluteDeadlineEndsTheCallWithDeadlineExceeded() async throws {
        // The same held call as above, given a point in time instead of a duration.
        let hold = HoldGate()
        try await withBatchServer(hold: hold) { _, client in
            let error = await #expect(throws: TokenwireError.self) {
                for try await _ in client.generate(GenerateRequest(model: "scripted/hold"), until: .now + callDeadlineBudget) {}
            }
            #expect(error?.code == .deadlineExceeded)
            let passed = await #expect(throws: TokenwireError.self) {
                _ = try await client.complete(GenerateRequest(model: "scripted/hold"), until: .now - .seconds(1))
            }
            #expect(passed?.code == .deadlineExceeded, "a deadline already passed ends the call (the held provider never would)")
        }
    }

    @Test func perCallMetadataReachesTheServerForThatCallOnly() async throws {
        try await withServerAndClient { _, client in
            // `tokenwire-resume: off` is metadata the server acts on visibly: no resume token.
            func resumeToken(_ frames: [TokenFrame]) -> String? {
                guard case .start(let start) = frames.first?.event else { return nil }
                return start.resumeToken
            }
            let request = GenerateRequest(model: "synthetic/flood", maxTokens: 2)
            let optedOut = try await client.generate(request, metadata: [("tokenwire-resume", "off")]).collect()
            #expect(resumeToken(optedOut) == "", "the call's metadata was sent")
            let plain = try await client.generate(request).collect()
            #expect(resumeToken(plain)?.isEmpty == false, "the next call without it is resumable again")
        }
    }

    @Test func completeReturnsTheWholeTextFinishAndUsage() async throws {
        try await withServerAndClient { _, client in
            let completion = try await client.complete(GenerateRequest(model: "synthetic/flood", maxTokens: 10))
            #expect(completion.model == "synthetic/flood")
            #expect(completion.text == "the quick brown fox jumps over lazy dog the quick ")
            #expect(completion.finish == Finish(reason: "length", usage: Usage(outputTokens: 10)))
        }
    }

    @Test func unknownModelEndsWithNotFoundNamingTheServedModels() async throws {
        try await withServerAndClient { _, client in
            var frames = 0
            let error = await #expect(throws: TokenwireError.self) {
                for try await _ in client.generate(GenerateRequest(model: "nope/none")) { frames += 1 }
            }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("synthetic/flood") == true)
            #expect(frames == 0)
        }
    }

    @Test func healthCheckIsServingAndUnknownServiceIsNotFound() async throws {
        try await withServerAndClient { _, client in
            let overall = try await client.checkHealth()
            let service = try await client.checkHealth(service: "tokenwire.v1.TokenStream")
            #expect(overall == .serving)
            #expect(service == .serving)
            let error = await #expect(throws: TokenwireError.self) { try await client.checkHealth(service: "no.such.Service") }
            #expect(error?.code == .notFound)
        }
    }

    @Test(arguments: [true, false])
    func streamsCompleteWhetherHandlersRunOnTheLoopsOrTheGlobalExecutor(onLoops: Bool) async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .error
        configuration.runCallsOnEventLoops = onLoops
        // A group the server did not make: handlers then run on the global executor.
        let group = onLoops ? nil : MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let server = TokenwireServer(configuration: configuration, group: group)
        try await server.start()
        let port = try #require(server.port)
        try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            try await withThrowingTaskGroup(of: [TokenFrame].self) { calls in
                for _ in 0..<8 {
                    calls.addTask {
                        var frames: [TokenFrame] = []
                        for try await frame in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 5_000)) {
                            frames.append(frame)
                        }
                        return frames
                    }
                }
                for try await frames in calls { checkFloodFrames(frames, count: 5_000) }
            }
        }
        await server.shutdown()
        try await group?.shutdownGracefully()
    }

    @Test func serverGoingAwayEndsOpenCallsWithUnavailableInsteadOfHanging() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .error
        configuration.drainTimeout = .milliseconds(300)
        let server = TokenwireServer(configuration: configuration)
        try await server.start()
        let port = try #require(server.port)
        let client = try await TokenwireClient.connect(host: "127.0.0.1", port: port)
        let (started, signal) = AsyncStream<Void>.makeStream()
        let consumer = Task {
            for try await _ in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)) { signal.yield() }
        }
        try await nextSignal(started, "the call's first frame")
        await server.shutdown()  // the drain timeout passes, then the connection is cut
        let result = try await withTimeout(30, "the client to notice") { await consumer.result }
        #expect(throws: TokenwireError.self) { try result.get() }
        if case .failure(let error as TokenwireError) = result {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("GOAWAY"), "the cut names the server's shutdown, not a lost connection: \(error.message)")
        }
        await client.close()
    }

    @Test func callCutByTheCallersCloseSaysSoAndIsNotResumed() async throws {
        let hold = HoldGate()
        try await withBatchServer(hold: hold) { _, client in
            let consumer = Task { for try await _ in client.generate(GenerateRequest(model: "scripted/hold")) {} }
            try await withTimeout(60, "the call to be held") { await hold.waitUntilHeld(1) }
            await client.close()
            let result = try await withTimeout(60, "the cut call to end") { await consumer.result }
            guard case .failure(let failure) = result, let error = failure as? TokenwireError else {
                Issue.record("the cut call ended with \(result), not a TokenwireError")
                return
            }
            #expect(error.transport == .closedByCaller)
            #expect(error.message.contains("closed by its caller"), "\(error.message)")
        }
    }

    @Test func textDeltasAndTheWholeTextNeedNoPatternMatching() async throws {
        try await withServerAndClient { _, client in
            var pieces: [String] = []
            for try await piece in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).text { pieces.append(piece) }
            #expect(pieces == ["the ", "quick ", "brown "])
            let whole = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 9)).collectText()
            #expect(whole == "the quick brown fox jumps over lazy dog the ")
            let error = await #expect(throws: TokenwireError.self) {
                _ = try await client.generate(GenerateRequest(model: "nope/none")).collectText()
            }
            #expect(error?.code == .notFound)
        }
    }
}
