import NIOCore
import NIOPosix
import Testing
@testable import TokenwireHTTP2
import TokenwireTestSupport

/// Several writers may wait on one stream's queue (a batch's items share one stream): each
/// is resumed, failed or cancelled on its own, and none is lost.
@Suite("HTTP2OutboundStream: writers waiting for capacity")
struct HTTP2OutboundStreamWaiterTests {
    func makeFullStream() throws -> HTTP2OutboundStream {
        var configuration = HTTP2Configuration()
        configuration.outboundHighWatermark = 64
        configuration.outboundLowWatermark = 16
        let scheduler = HTTP2FlushScheduler(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let stream = HTTP2OutboundStream(headers: [], scheduler: scheduler, configuration: configuration)
        stream.attach(streamID: 1, headersSubmitted: true)
        #expect(try stream.enqueue { $0.writeBytes([UInt8](repeating: 1, count: 100)) } == .mustWait)
        return stream
    }

    func waitUntil(_ stream: HTTP2OutboundStream, hasWaiters count: Int) async throws {
        try await withTimeout(30, "\(count) waiters") {
            while stream.waiterCount != count { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    func drainAll(_ stream: HTTP2OutboundStream) {
        var bytes = [UInt8](repeating: 0, count: 1024)
        _ = bytes.withUnsafeMutableBytes { stream.read(into: $0) }
    }

    @Test func everyWaitingWriterResumesWhenTheQueueDrains() async throws {
        let stream = try makeFullStream()
        let first = Task { try await stream.waitForCapacity() }
        let second = Task { try await stream.waitForCapacity() }
        try await waitUntil(stream, hasWaiters: 2)
        drainAll(stream)
        try await first.value
        try await second.value
        #expect(stream.waiterCount == 0)
    }

    @Test func cancellingOneWaiterLeavesTheOtherWaiting() async throws {
        let stream = try makeFullStream()
        let cancelled = Task { try await stream.waitForCapacity() }
        let kept = Task { try await stream.waitForCapacity() }
        try await waitUntil(stream, hasWaiters: 2)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(stream.waiterCount == 1)
        drainAll(stream)
        try await kept.value
    }

    @Test func closingTheStreamFailsEveryWaiter() async throws {
        let stream = try makeFullStream()
        let waiters = (0..<3).map { _ in Task { try await stream.waitForCapacity() } }
        try await waitUntil(stream, hasWaiters: 3)
        stream.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "test"))
        for waiter in waiters {
            await #expect(throws: HTTP2StreamClosedError.self) { try await waiter.value }
        }
    }
}
