import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

/// A slow reader closes its HTTP/2 window; the server must then stop its producers, so
/// memory stays bounded by the windows and watermarks, not by the response length.
///
/// The responses are `scripted/bulk`: 1 MiB per stream in 4 KiB frames. What the server
/// holds for a stream is what its producer has handed over and the client has not read:
/// the provider counts the frames it has handed over (`ProductionTally`), which nothing
/// else in the process can disturb. (The process's RSS could not tell: the other suites
/// run in the same process at the same time. `tokenwire slow-consumers` measures a server
/// process's RSS, see docs/BENCHMARKS.md.) A server that kept producing into a buffer
/// would have produced every frame (256 per stream) while the clients read 12; the bound
/// below is half of that, 512 KiB per stream, and generous: the windows and watermarks
/// allow about 50 frames (client window 64 KiB, 4 buffered frames, the server's 64 KiB
/// high watermark).
///
/// The readers are slow on purpose: 12 frames, one every 250 ms, so a server without
/// backpressure has 3 s to run ahead before the count is taken.
@Suite("Backpressure: slow consumers", .serialized)
struct SlowConsumerTests {
    static let streams = 200
    static let framesPerStream = 256
    static let slowFrames = 12

    @Test func twoHundredSlowStreamsHoldBoundedMemoryStopTheirProducersAndLoseNoFrame() async throws {
        var clientConfiguration = ClientConfiguration()
        clientConfiguration.http2.initialWindowSize = 64 * 1024
        clientConfiguration.bufferedFrames = 4
        let tally = ProductionTally()
        try await withBatchServer(tally: tally) { server, _ in
            let port = try #require(server.port)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: clientConfiguration) { client in
                let request = GenerateRequest(model: "scripted/bulk", maxTokens: UInt32(Self.framesPerStream))
                let release = Latch()
                let (readSlowly, countSlow) = AsyncStream<Void>.makeStream()
                try await withThrowingTaskGroup(of: [TokenFrame].self) { group in
                    for _ in 0..<Self.streams {
                        group.addTask {
                            var frames: [TokenFrame] = []
                            var iterator = client.generate(request).makeAsyncIterator()
                            for _ in 0..<Self.slowFrames {
                                guard let frame = try await iterator.next() else { break }
                                frames.append(frame)
                                try await Task.sleep(for: .milliseconds(250))  // the slow reader's pace
                            }
                            countSlow.yield()
                            await release.wait()
                            while let frame = try await iterator.next() { frames.append(frame) }
                            return frames
                        }
                    }
                    try await withTimeout(120, "every stream to read its first \(Self.slowFrames) frames") {
                        var slow = readSlowly.makeAsyncIterator()
                        for _ in 0..<Self.streams { _ = await slow.next() }
                    }
                    let calls = tally.calls
                    let most = tally.mostByOneCall
                    let total = tally.total
                    let snapshot = server.ledger.snapshot
                    release.open()
                    #expect(calls == Self.streams)
                    #expect(snapshot.ended.count == 0, "calls ended on the server while their clients had read \(Self.slowFrames) frames")
                    #expect(most < Self.framesPerStream / 2,
                            "a producer handed the server \(most) frames of 4 KiB while its client read \(Self.slowFrames)")
                    print("slow consumers: while each client read \(Self.slowFrames) frames, its producer handed the server at most \(most) frames of 4 KiB (\(total / Self.streams) on average) of \(Self.framesPerStream)")
                    var streamsChecked = 0
                    for try await frames in group {
                        checkBulkFrames(frames)
                        streamsChecked += 1
                    }
                    #expect(streamsChecked == Self.streams)
                }
            }
        }
    }

    @Test func slowBatchConsumerHoldsAllItsItemsToOneWindowAndLosesNoFrame() async throws {
        var clientConfiguration = ClientConfiguration()
        clientConfiguration.http2.initialWindowSize = 64 * 1024
        clientConfiguration.bufferedFrames = 4
        let items = 128
        let tally = ProductionTally()
        try await withBatchServer(tally: tally) { server, _ in
            let port = try #require(server.port)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: clientConfiguration) { client in
                let request = BatchRequest(
                    items: Array(repeating: GenerateRequest(model: "scripted/bulk", maxTokens: UInt32(Self.framesPerStream)), count: items),
                    maxConcurrency: UInt32(items))
                var iterator = client.generateBatchFrames(request).makeAsyncIterator()
                var frames: [TokenFrame] = []
                for _ in 0..<Self.slowFrames {
                    frames.append(try #require(try await iterator.next()))
                    try await Task.sleep(for: .milliseconds(250))  // the slow reader's pace
                }
                // 128 MiB of response; a bounded server holds a window's worth plus a frame
                // per item (about 1 MiB). The bound is the 48 MiB the test held RSS to.
                let produced = tally.total
                #expect(produced * 4096 < 48 * 1024 * 1024, "the items handed the server \(produced) frames of 4 KiB while the client read \(Self.slowFrames)")
                #expect(server.ledger.snapshot.ended.count == 0)
                print("slow batch consumer: \(items) items handed the server \(produced) frames (\(produced * 4) KiB) while the client read \(Self.slowFrames)")
                while let frame = try await iterator.next() { frames.append(frame) }
                let events = checkBatchFraming(frames, items: items)
                for index in 0..<items {
                    let expected = (0..<Self.framesPerStream).map { TokenEvent.text(ScriptedProvider.bulkText($0)) }
                        + [.finish(Finish(reason: "length", usage: Usage(outputTokens: UInt32(Self.framesPerStream))))]
                    if events[index] != expected {
                        Issue.record("item \(index) lost or changed frames")
                        break
                    }
                }
            }
        }
    }

    func checkBulkFrames(_ frames: [TokenFrame], sourceLocation: SourceLocation = #_sourceLocation) {
        guard frames.count == Self.framesPerStream + 2 else {
            Issue.record("a stream has \(frames.count) frames, not \(Self.framesPerStream + 2)", sourceLocation: sourceLocation)
            return
        }
        for (offset, frame) in frames.enumerated() where frame.seq != UInt64(offset + 1) {
            Issue.record("frame \(offset) has seq \(frame.seq)", sourceLocation: sourceLocation)
            return
        }
        for k in 0..<Self.framesPerStream where frames[k + 1].event != .text(ScriptedProvider.bulkText(k)) {
            Issue.record("frame seq \(k + 2) is not bulk frame \(k)", sourceLocation: sourceLocation)
            return
        }
        #expect(frames.last?.event == .finish(Finish(reason: "length", usage: Usage(outputTokens: UInt32(Self.framesPerStream)))),
                sourceLocation: sourceLocation)
    }
}
