import Foundation
import Synchronization
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer

/// The process's resident set size, from /proc/self/status (Linux), in bytes.
func residentBytes() throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
    let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    return kilobytes * 1024
}

/// A slow reader closes its HTTP/2 window; the server must then stop its producers, so
/// memory stays bounded by the windows and watermarks, not by the response length.
///
/// The responses are `scripted/bulk`: 1 MiB per stream in 4 KiB frames. A server that kept
/// producing into a buffer would hold them whole (200 MiB) and its calls would end on the
/// server before the client read them; the bound below is half of that per stream, and
/// generous: the client (same process) holds up to a window per stream too. The suite runs
/// its tests one at a time, so one test's memory does not count against the other's.
@Suite("Backpressure: slow consumers", .serialized)
struct SlowConsumerTests {
    static let streams = 200
    static let framesPerStream = 256
    static let boundPerStream = 512 * 1024

    @Test func twoHundredSlowStreamsHoldBoundedMemoryStopTheirProducersAndLoseNoFrame() async throws {
        var clientConfiguration = ClientConfiguration()
        clientConfiguration.http2.initialWindowSize = 64 * 1024
        clientConfiguration.bufferedFrames = 4
        try await withBatchServer { server, _ in
            let port = try #require(server.port)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: clientConfiguration) { client in
                let baseline = try residentBytes()
                let request = GenerateRequest(model: "scripted/bulk", maxTokens: UInt32(Self.framesPerStream))
                let release = SlowPhaseRelease()
                let (readSlowly, countSlow) = AsyncStream<Void>.makeStream()
                try await withThrowingTaskGroup(of: [TokenFrame].self) { group in
                    for _ in 0..<Self.streams {
                        group.addTask {
                            var frames: [TokenFrame] = []
                            var iterator = client.generate(request).makeAsyncIterator()
                            // Slow: a frame every 250 ms for 3 s, then wait for the measurement.
                            for _ in 0..<12 {
                                guard let frame = try await iterator.next() else { break }
                                frames.append(frame)
                                try await Task.sleep(for: .milliseconds(250))
                            }
                            countSlow.yield()
                            await release.wait()
                            while let frame = try await iterator.next() { frames.append(frame) }
                            return frames
                        }
                    }
                    var slow = readSlowly.makeAsyncIterator()
                    for _ in 0..<Self.streams { _ = await slow.next() }
                    let grown = try residentBytes() - baseline
                    let snapshot = server.ledger.snapshot
                    release.open()
                    #expect(snapshot.ended.count == 0, "calls ended on the server while their clients had read 12 frames")
                    #expect(grown / Self.streams < Self.boundPerStream,
                            "RSS grew \(grown / 1024) KiB for \(Self.streams) slow streams: \(grown / Self.streams / 1024) KiB per stream")
                    print("slow consumers: RSS grew \(grown / 1024) KiB over \(Self.streams) streams, \(grown / Self.streams / 1024) KiB per stream (both sides in process)")
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
        try await withBatchServer { server, _ in
            let port = try #require(server.port)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: clientConfiguration) { client in
                let baseline = try residentBytes()
                let request = BatchRequest(
                    items: Array(repeating: GenerateRequest(model: "scripted/bulk", maxTokens: UInt32(Self.framesPerStream)), count: items),
                    maxConcurrency: UInt32(items))
                var iterator = client.generateBatchFrames(request).makeAsyncIterator()
                var frames: [TokenFrame] = []
                for _ in 0..<12 {
                    frames.append(try #require(try await iterator.next()))
                    try await Task.sleep(for: .milliseconds(250))
                }
                // 128 MiB of response; a bounded server holds a window's worth plus a frame per item.
                let grown = try residentBytes() - baseline
                #expect(grown < 48 * 1024 * 1024, "RSS grew \(grown / 1024) KiB while a 128 MiB batch was read slowly")
                #expect(server.ledger.snapshot.ended.count == 0)
                print("slow batch consumer: RSS grew \(grown / 1024) KiB for \(items) items of 1 MiB each (both sides in process)")
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

/// Lets every slow reader go on at once, when the measurement is done.
private final class SlowPhaseRelease: Sendable {
    private struct State {
        var open = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Returns once `open()` has been called.
    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state -> Bool in
                if !state.open { state.waiting.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
