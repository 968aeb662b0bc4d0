import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

/// Resumable streams (issue 10): a Generate whose connection is lost goes on into its log
/// for the detach grace, and a Generate with its resume token and the last seq seen gets
/// the frames after it, as first sent, then the live ones, then the stream's status. The
/// connection losses are real: a TCP proxy between client and server closes both sockets.
@Suite("Resumable streams")
struct ResumableStreamTests {
    /// Frames of a paced stream: slow enough that a cut lands mid-stream, quick enough for
    /// a test (200 tokens/s).
    static func configurePaced(_ configuration: inout ServerConfiguration) {
        configuration.pacedTokensPerSecond = 200
    }

    /// Reads `stream` until it ends, keeping every frame, and returns them with the error it
    /// ended with (nil: OK).
    static func drain(_ stream: TokenFrameStream, into frames: inout [TokenFrame]) async -> TokenwireError? {
        do {
            for try await frame in stream { frames.append(frame) }
            return nil
        } catch let error as TokenwireError {
            return error
        } catch {
            return TokenwireError(code: .unknown, message: "\(error)")
        }
    }

    /// A client that does not resume by itself: these tests look at what the server does
    /// at the cut.
    static let noResume: ClientConfiguration = {
        var configuration = ClientConfiguration()
        configuration.resumeAttempts = 0
        return configuration
    }()

    static func resumeRequest(_ token: String, after seq: UInt64) -> GenerateRequest {
        GenerateRequest(model: "", resumeToken: token, resumeAfterSeq: seq)
    }

    /// The frames an uninterrupted `synthetic/*` stream of `count` tokens has after StreamStart.
    static func expectWhole(_ frames: [TokenFrame], count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(frames.map(\.seq) == Array(1...UInt64(count + 2)), sourceLocation: sourceLocation)
        guard frames.count == count + 2 else { return }
        guard case .start = frames[0].event else {
            Issue.record("frame 1 is not StreamStart: \(String(describing: frames[0].event))", sourceLocation: sourceLocation)
            return
        }
        for k in 0..<count {
            #expect(frames[k + 1].event == .text(SyntheticProvider.vocabulary[k & 7]), sourceLocation: sourceLocation)
        }
        #expect(frames[count + 1].event == .finish(Finish(reason: "length", usage: Usage(outputTokens: UInt32(count)))), sourceLocation: sourceLocation)
    }

    static func resumeToken(of frames: [TokenFrame]) throws -> String {
        guard case .start(let start) = try #require(frames.first).event else {
            throw TokenwireError(code: .internal, message: "the first frame is not StreamStart")
        }
        return start.resumeToken
    }

    @Test func streamStartCarriesAnUnguessableResumeTokenUnlessTheServerTurnedResumingOff() async throws {
        let tokens = try await withServerAndClient { _, client in
            var tokens: [String] = []
            for _ in 0..<2 {
                let frames = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 2)).collect()
                tokens.append(try Self.resumeToken(of: frames))
            }
            return tokens
        }
        for token in tokens {
            #expect(token.count == 32 && token.allSatisfy(\.isHexDigit), "\(token)")
        }
        #expect(tokens[0] != tokens[1])
        let off = try await withServerAndClient(configure: { $0.resume.maxStreamBytes = 0 }) { _, client in
            let frames = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 2)).collect()
            var error: TokenwireError?
            do {
                _ = try await client.generate(Self.resumeRequest(tokens[0], after: 1)).collect()
            } catch let caught as TokenwireError {
                error = caught
            }
            return (try Self.resumeToken(of: frames), error)
        }
        #expect(off.0 == "")
        #expect(off.1?.code == .failedPrecondition && off.1?.message.contains("--resume-buffer 0") == true, "\(String(describing: off.1))")
    }

    @Test func connectionCutMidStreamThenResumeGivesExactlyTheFramesAfterTheLastOneSeen() async throws {
        try await withTestServer(configure: Self.configurePaced) { server, port in
            let proxy = try await TCPProxy.start(to: port)
            defer { Task { await proxy.stop() } }
            // Long enough that the cut always lands mid-stream, however slow the machine;
            // the resumed reader reads 50 frames past the cut, then stops.
            let count = 100_000
            let (before, cutError) = try await withTimeout(60, "the stream to be cut") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port, configuration: Self.noResume) { client in
                    var frames: [TokenFrame] = []
                    var iterator = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: UInt32(count))).makeAsyncIterator()
                    while frames.count < 10, let frame = try await iterator.next() { frames.append(frame) }
                    await proxy.cut()
                    do {
                        while let frame = try await iterator.next() { frames.append(frame) }
                        return (frames, TokenwireError?.none)
                    } catch let error as TokenwireError {
                        return (frames, error)
                    }
                }
            }
            #expect(cutError?.code == .unavailable, "the cut ended the call with \(String(describing: cutError))")
            let token = try Self.resumeToken(of: before)
            let lastSeen = try #require(before.last).seq
            let after = try await withTimeout(60, "the resumed stream") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    var frames: [TokenFrame] = []
                    for try await frame in client.generate(Self.resumeRequest(token, after: lastSeen)) {
                        frames.append(frame)
                        if frames.count == 50 { break }
                    }
                    return frames
                }
            }
            let whole = before + after
            #expect(whole.map(\.seq) == Array(1...UInt64(whole.count)), "a gap or a duplicate at the resume")
            for (offset, frame) in whole.enumerated().dropFirst() {
                #expect(frame.event == .text(SyntheticProvider.vocabulary[(offset - 1) & 7]), "frame \(frame.seq)")
            }
            // The resumed reader stopped reading (a cancel, the last reader): the producer
            // is cancelled at once, not after the detach grace.
            let snapshot = try await withTimeout(30, "the producer to stop") { await server.ledger.wait { $0.active == 0 && !$0.ended.isEmpty } }
            #expect(snapshot.ended.allSatisfy { $0.status.code == .cancelled && !$0.status.message.contains("grace") })
        }
    }

    @Test func resumeOfAFinishedStreamReplaysTheRestAndItsStatus() async throws {
        try await withServerAndClient { _, client in
            let original = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 20)).collect()
            Self.expectWhole(original, count: 20)
            let token = try Self.resumeToken(of: original)
            let fromStart = try await client.generate(Self.resumeRequest(token, after: 0)).collect()
            #expect(fromStart == original, "a resume after 0 is the whole stream as first sent, StreamStart included")
            let rest = try await client.generate(Self.resumeRequest(token, after: 5)).collect()
            #expect(rest == Array(original[5...]))
            let nothing = try await client.generate(Self.resumeRequest(token, after: 22)).collect()
            #expect(nothing.isEmpty)
        }
    }

    @Test func twoReadersOfOneStreamEachGetTheFramesAfterTheirOwnSeq() async throws {
        try await withServerAndClient(configure: Self.configurePaced) { _, client in
            let count = 40
            try await withTimeout(60, "both readers") {
                var iterator = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: UInt32(count))).makeAsyncIterator()
                var first: [TokenFrame] = []
                while first.count < 5, let frame = try await iterator.next() { first.append(frame) }
                let token = try Self.resumeToken(of: first)
                async let second = client.generate(Self.resumeRequest(token, after: 3)).collect()
                while let frame = try await iterator.next() { first.append(frame) }
                Self.expectWhole(first, count: count)
                let secondFrames = try await second
                #expect(secondFrames == Array(first[3...]))
            }
        }
    }

    @Test func unknownTokenIsNotFoundAndSeqsNotHeldAreOutOfRangeNamingWhatIs() async throws {
        try await withServerAndClient(configure: { $0.resume.maxStreamBytes = 300 }) { _, client in
            await #expect { _ = try await client.generate(Self.resumeRequest("0123456789abcdef0123456789abcdef", after: 0)).collect() } throws: { error in
                let error = error as? TokenwireError
                return error?.code == .notFound && error?.message.contains("--resume-retention") == true
            }
            // Text that cannot be a token (too short, a NUL byte) is an unknown token too.
            for bogus in ["abc", "0123456789abcdef0123456789abcde\u{0}"] {
                await #expect { _ = try await client.generate(Self.resumeRequest(bogus, after: 0)).collect() } throws: { error in
                    (error as? TokenwireError)?.code == .notFound
                }
            }
            let original = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 100)).collect()
            Self.expectWhole(original, count: 100)
            let token = try Self.resumeToken(of: original)
            await #expect { _ = try await client.generate(Self.resumeRequest(token, after: 150)).collect() } throws: { error in
                let error = error as? TokenwireError
                return error?.code == .outOfRange && error?.message.contains("past the last frame of the stream, seq 102") == true
            }
            // 300 bytes hold the last few frames only: the first ones are gone.
            await #expect { _ = try await client.generate(Self.resumeRequest(token, after: 1)).collect() } throws: { error in
                let error = error as? TokenwireError
                return error?.code == .outOfRange && error?.message.contains("to 102 are") == true
                    && error?.message.contains("--resume-buffer") == true
            }
            let tail = try await client.generate(Self.resumeRequest(token, after: 100)).collect()
            #expect(tail == Array(original[100...]))
        }
    }

    @Test func serverWideBoundDropsTheOldestEndedStreamsFirstAndKeepsTheNewest() async throws {
        // Each ended stream counts its frames (~400 bytes here) and 128 bytes: 64 KiB holds
        // about 120 of these, not all 300.
        try await withServerAndClient(configure: { $0.resume.maxTotalBytes = 64 * 1024 }) { _, client in
            var tokens: [String] = []
            var last: [TokenFrame] = []
            for _ in 0..<300 {
                last = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 20)).collect()
                tokens.append(try Self.resumeToken(of: last))
            }
            await #expect { _ = try await client.generate(Self.resumeRequest(tokens[0], after: 0)).collect() } throws: { error in
                (error as? TokenwireError)?.code == .notFound
            }
            // A running stream whose frames take the total over the bound keeps them (it
            // holds 16 KiB and more, so it adds to the total while it runs): ended streams go first.
            let long = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 2000)).collect()
            Self.expectWhole(long, count: 2000)
            let replay = try await client.generate(Self.resumeRequest(try Self.resumeToken(of: long), after: 0)).collect()
            #expect(replay == long)
            let newest = try await client.generate(Self.resumeRequest(tokens[299], after: 0)).collect()
            #expect(newest == last)
        }
    }

    @Test func detachGraceExpiringCancelsTheProducerAndAResumeThenSaysWhy() async throws {
        try await withTestServer(configure: { configuration in
            Self.configurePaced(&configuration)
            configuration.resume.detachGrace = .milliseconds(300)
        }) { server, port in
            let proxy = try await TCPProxy.start(to: port)
            defer { Task { await proxy.stop() } }
            let frames = try await withTimeout(60, "a few frames, then the cut") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port, configuration: Self.noResume) { client in
                    var frames: [TokenFrame] = []
                    var iterator = client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)).makeAsyncIterator()
                    while frames.count < 3, let frame = try await iterator.next() { frames.append(frame) }
                    await proxy.cut()
                    return frames
                }
            }
            let snapshot = try await withTimeout(60, "the producer to be cancelled after the grace") {
                await server.ledger.wait { $0.active == 0 && !$0.ended.isEmpty }
            }
            let ended = try #require(snapshot.ended.last)
            #expect(ended.status.code == .cancelled && ended.status.message.contains("--detach-grace"), "\(ended.status)")
            let token = try Self.resumeToken(of: frames)
            var resumed: [TokenFrame] = []
            let error = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                await Self.drain(client.generate(Self.resumeRequest(token, after: 3)), into: &resumed)
            }
            #expect(resumed.first?.seq == 4 && resumed.allSatisfy { if case .text = $0.event { true } else { false } })
            #expect(error?.code == .cancelled && error?.message.contains("detach grace") == true, "\(String(describing: error))")
        }
    }

    @Test func explicitCancelStillCancelsTheProducerAtOnce() async throws {
        try await withServerAndClient(configure: Self.configurePaced) { server, client in
            let signal = AsyncStream<Void>.makeStream()
            let reader = Task {
                for try await _ in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)) { signal.continuation.yield() }
            }
            try await nextSignal(signal.stream, "the first frame")
            reader.cancel()
            // The detach grace is 30 s: an end within the wait's budget is the cancel.
            let snapshot = try await withTimeout(20, "the producer to stop") { await server.ledger.wait { $0.active == 0 && !$0.ended.isEmpty } }
            let ended = try #require(snapshot.ended.last)
            #expect(ended.status.code == .cancelled && !ended.status.message.contains("grace"), "\(ended.status)")
        }
    }

    @Test func detachedProducerStopsAtTheLogsBoundAndGoesOnWhenResumed() async throws {
        // While its reader is attached the producer can be ahead of it by the client's
        // window (4 KiB) plus the stream's queue (8 KiB), well inside the 256 KiB log: the
        // log still holds every frame after the one the client read, however late the cut.
        try await withTestServer(configure: { configuration in
            configuration.resume.maxStreamBytes = 256 * 1024
            configuration.http2.outboundHighWatermark = 8 * 1024
            configuration.http2.outboundLowWatermark = 2 * 1024
        }) { server, port in
            let proxy = try await TCPProxy.start(to: port)
            defer { Task { await proxy.stop() } }
            let count = 50_000  // about 600 KB of frames: past the log's bound
            var small = Self.noResume
            small.http2.initialWindowSize = 4 * 1024
            small.bufferedFrames = 2
            let first = try await withTimeout(60, "the first frame, then the cut") { [small] in
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port, configuration: small) { client in
                    var iterator = client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: UInt32(count))).makeAsyncIterator()
                    let frame = try #require(try await iterator.next())
                    await proxy.cut()
                    return frame
                }
            }
            // Detached, the producer fills the log and then waits for a reader instead of
            // ending (it would need a fraction of a second) or dropping frames.
            try await Task.sleep(for: .seconds(2))
            #expect(server.ledger.snapshot.active == 1, "the detached producer ended instead of waiting for a reader")
            let token = try Self.resumeToken(of: [first])
            let resumed = try await withTimeout(60, "the resumed stream") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    try await client.generate(Self.resumeRequest(token, after: 1)).collect()
                }
            }
            Self.expectWhole([first] + resumed, count: count)
        }
    }

    @Test func ourClientResumesByItselfSoACutMidStreamIsInvisibleToTheConsumer() async throws {
        try await withTestServer(configure: Self.configurePaced) { server, port in
            let proxy = try await TCPProxy.start(to: port)
            defer { Task { await proxy.stop() } }
            // The consumer reads on after the cut until it has 20 frames from the resumed
            // call (the frames the first connection delivered before the cut come first,
            // however many that is on a loaded machine).
            let frames = try await withTimeout(60, "the stream across the cut") {
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: proxy.port) { client in
                    var frames: [TokenFrame] = []
                    var afterResume = 0
                    for try await frame in client.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)) {
                        frames.append(frame)
                        if frames.count == 10 { await proxy.cut() }
                        if frames.count > 10, server.ledger.snapshot.started >= 2 {
                            afterResume += 1
                            if afterResume == 20 { break }
                        }
                    }
                    return frames
                }
            }
            #expect(frames.map(\.seq) == Array(1...UInt64(frames.count)), "a gap or a duplicate across the reconnect")
            for (offset, frame) in frames.enumerated().dropFirst() {
                #expect(frame.event == .text(SyntheticProvider.vocabulary[(offset - 1) & 7]), "frame \(frame.seq)")
            }
            // One producer and one resume, a reader of its stream.
            #expect(server.ledger.snapshot.started == 2)
        }
    }

    @Test func ourClientsNextCallAfterTheServerRestartedOnItsPortSucceeds() async throws {
        // A port below the ephemeral range: no outgoing socket of another test takes it
        // while this server is down.
        let port = try await RedisServerProcess.freePort()
        let client = try await withTestServer(configure: { $0.port = port }) { _, _ in
            let client = try await TokenwireClient.connect(host: "127.0.0.1", port: port)
            let frames = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).collect()
            Self.expectWhole(frames, count: 3)
            return client
        }
        // The server is gone: a call fails, naming the target, after its reconnect attempts.
        await #expect { _ = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).collect() } throws: { error in
            let error = error as? TokenwireError
            return error?.code == .unavailable && error?.message.contains("cannot connect to 127.0.0.1:\(port)") == true
        }
        try await withTestServer(configure: { $0.port = port }) { _, _ in
            let frames = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).collect()
            Self.expectWhole(frames, count: 3)
        }
        await client.close()
        await #expect { _ = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).collect() } throws: { error in
            (error as? TokenwireError)?.transport == .closedByCaller
        }
    }
}
