import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import TokenwireHTTP2
import TokenwireTestSupport

@Suite("HTTP2OutboundStream: the queue between producers and nghttp2")
struct HTTP2OutboundStreamTests {
    /// A stream whose scheduler has no flush installed: nothing is ever run on its loop.
    func makeStream(high: Int = 64, low: Int = 16) -> (HTTP2OutboundStream, any EventLoop) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var configuration = HTTP2Configuration()
        configuration.outboundHighWatermark = high
        configuration.outboundLowWatermark = low
        let stream = HTTP2OutboundStream(headers: [], scheduler: HTTP2FlushScheduler(eventLoop: loop), configuration: configuration)
        stream.attach(streamID: 1, headersSubmitted: true)
        return (stream, loop)
    }

    func drain(_ stream: HTTP2OutboundStream, upTo count: Int) -> HTTP2OutboundStream.ReadResult {
        var bytes = [UInt8](repeating: 0, count: count)
        return bytes.withUnsafeMutableBytes { stream.read(into: $0) }
    }

    @Test func queueThatNeverRunsDryKeepsItsBufferBoundedByTheWatermarks() throws {
        // A producer ahead of a slow client: the queue hovers between the watermarks for
        // 16 MiB of messages and is never empty, so it is never cleared.
        let (stream, _) = makeStream(high: 64 * 1024, low: 16 * 1024)
        let message = [UInt8](repeating: 7, count: 100)
        var sent = 0
        var largest = 0
        while sent < 16 * 1024 * 1024 {
            while stream.queuedBytes < 64 * 1024 { _ = try stream.enqueue { $0.writeBytes(message) } }
            while stream.queuedBytes > 16 * 1024 {
                guard case .data(let count, _, _) = drain(stream, upTo: 16 * 1024 - 1) else {
                    Issue.record("expected data")
                    return
                }
                sent += count
            }
            largest = max(largest, stream.bufferCapacity)
        }
        #expect(largest <= 256 * 1024, "the queue's buffer grew to \(largest) bytes")
    }

    @Test func emptyOpenStreamDefersInsteadOfEndingTheData() {
        let (stream, _) = makeStream()
        guard case .deferred = drain(stream, upTo: 100) else {
            Issue.record("expected deferred")
            return
        }
    }

    @Test func writerAboveHighWatermarkWaitsUntilDrainedToLowWatermark() async throws {
        let (stream, _) = makeStream(high: 64, low: 16)
        let (resumed, signal) = AsyncStream<Void>.makeStream()
        let (landed, landing) = AsyncStream<Void>.makeStream()
        let writer = Task {
            try await stream.write { buffer in
                buffer.writeBytes([UInt8](repeating: 1, count: 80))
                landing.yield()
            }
            signal.yield()
        }
        // Wait for the write to land (the writer then parks: 80 bytes is above 64). The
        // body runs under the stream's lock, so the bytes are queued once it is released.
        try await withTimeout(30, "the write to land") {
            var iterator = landed.makeAsyncIterator()
            _ = await iterator.next()
        }
        #expect(stream.queuedBytes == 80)
        guard case .data(let first, false, nil) = drain(stream, upTo: 40) else {
            Issue.record("expected 40 bytes")
            return
        }
        #expect(first == 40)  // 40 left: above the low watermark, the writer stays parked
        guard case .data(let second, false, nil) = drain(stream, upTo: 30) else {
            Issue.record("expected 30 bytes")
            return
        }
        #expect(second == 30)  // 10 left: at or below 16, the writer resumes
        try await withTimeout(30, "the writer to resume") {
            var iterator = resumed.makeAsyncIterator()
            _ = await iterator.next()
        }
        try await writer.value
    }

    @Test func closingTheStreamFailsTheWaitingWriterAndLaterWrites() async throws {
        let (stream, _) = makeStream(high: 8, low: 2)
        let writer = Task { try await stream.write { $0.writeBytes([UInt8](repeating: 1, count: 20)) } }
        stream.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "peer reset"))
        await #expect(throws: HTTP2StreamClosedError.self) { try await writer.value }
        await #expect(throws: HTTP2StreamClosedError.self) { try await stream.write { $0.writeInteger(UInt8(1)) } }
    }

    @Test func finishAfterDataEndsWithTrailersOnceDrained() async throws {
        let (stream, _) = makeStream()
        try await stream.write { $0.writeBytes([1, 2, 3]) }
        stream.finish(trailers: [HTTP2Header("grpc-status", "0")])
        guard case .data(3, true, let trailers?) = drain(stream, upTo: 100) else {
            Issue.record("expected the last 3 bytes with end of data and trailers")
            return
        }
        #expect(trailers == [HTTP2Header("grpc-status", "0")])
        #expect(!stream.isOpen)
    }

    @Test func finishWithoutDataAsksForATrailersOnlyResponse() {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let stream = HTTP2OutboundStream(
            headers: [HTTP2Header(":status", "200")], scheduler: HTTP2FlushScheduler(eventLoop: loop), configuration: .init())
        stream.attach(streamID: 3, headersSubmitted: false)
        stream.finish(trailers: [HTTP2Header("grpc-status", "5")])
        #expect(stream.takeFlushAction() == .submitTrailersOnly(3, trailers: [HTTP2Header("grpc-status", "5")]))
    }

    @Test func writesMadeTogetherScheduleOneFlush() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let scheduler = HTTP2FlushScheduler(eventLoop: loop)
        let flushes = FlushCounter()
        scheduler.setFlush { streams in flushes.record(streams.count) }
        let stream = HTTP2OutboundStream(headers: [], scheduler: scheduler, configuration: .init())
        stream.attach(streamID: 1, headersSubmitted: true)
        // 100 writes within one loop turn, then two barriers: the flush (queued by the
        // first write) has run by the first, and nothing else was queued by the second.
        try await loop.submit {
            for _ in 0..<100 { _ = try stream.enqueue { $0.writeInteger(UInt8(7)) } }
        }.get()
        try await loop.submit {}.get()
        try await loop.submit {}.get()
        #expect(flushes.counts == [1])
        #expect(stream.queuedBytes == 100)
        try await group.shutdownGracefully()
    }
}

final class FlushCounter: Sendable {
    private let state = NIOLockedValueBox<[Int]>([])
    var counts: [Int] { state.withLockedValue { $0 } }
    func record(_ count: Int) { state.withLockedValue { $0.append(count) } }
}
