import NIOCore
import Testing
import TokenwireCore
@testable import TokenwireServer

@Suite("StreamFrameLog: a stream's frames as sent, bounded, for resumes")
struct StreamFrameLogTests {
    func message(_ seq: UInt64, size: Int = 10) -> ByteBuffer {
        ByteBuffer(repeating: UInt8(truncatingIfNeeded: seq), count: size)
    }

    func log(frames: UInt64, maxBytes: Int = 1000) -> StreamFrameLog {
        var log = StreamFrameLog(maxBytes: maxBytes)
        for seq in 1...frames { _ = log.append(seq: seq, message: message(seq)) }
        return log
    }

    @Test func readerAfterKGetsTheFramesAfterKExactlyAsSent() {
        let log = log(frames: 5)
        #expect(log.read(after: 2) == .frames((3...5).map { .init(seq: $0, message: message($0)) }))
        #expect(log.read(after: 0, limit: 2) == .frames((1...2).map { .init(seq: $0, message: message($0)) }))
    }

    @Test func readerWhoHasSeenEverythingWaitsWhileTheStreamGoesOnAndEndsWithItsStatus() {
        var log = log(frames: 3)
        #expect(log.read(after: 3) == .caughtUp)
        log.finish(GRPCStatus(code: .ok, message: ""))
        #expect(log.read(after: 3) == .ended(GRPCStatus(code: .ok, message: "")))
        #expect(log.read(after: 1) == .frames([.init(seq: 2, message: message(2)), .init(seq: 3, message: message(3))]))
    }

    @Test func readerPastTheLastFrameIsOutOfRangeNamingWhatIsHeld() {
        var log = log(frames: 3)
        #expect(log.read(after: 4) == .outOfRange(oldest: 1, newest: 3))
        log.finish(GRPCStatus(code: .ok, message: ""))
        #expect(log.read(after: 9) == .outOfRange(oldest: 1, newest: 3))
    }

    @Test func oldestFramesGoFirstPastTheBoundAndTheirReadersAreOutOfRange() {
        var log = StreamFrameLog(maxBytes: 30)
        var evicted = 0
        for seq in UInt64(1)...5 { evicted += log.append(seq: seq, message: message(seq)) }
        #expect(evicted == 20)
        #expect(log.bytes == 30)
        #expect(log.oldestSeq == 3)
        #expect(log.read(after: 1) == .outOfRange(oldest: 3, newest: 5))
        #expect(log.read(after: 2) == .frames((3...5).map { .init(seq: $0, message: message($0)) }))
    }

    @Test func frameLargerThanTheBoundIsKeptAloneUntilTheNextArrives() {
        var log = StreamFrameLog(maxBytes: 30)
        _ = log.append(seq: 1, message: message(1))
        #expect(log.append(seq: 2, message: message(2, size: 100)) == 10)
        #expect(log.read(after: 1) == .frames([.init(seq: 2, message: message(2, size: 100))]))
        #expect(log.append(seq: 3, message: message(3)) == 100)
        #expect(log.oldestSeq == 3)
    }

    @Test func copyOfTheNewestBytesIsTheLatestFramesAndNilWhenTheyAreNoLongerHeld() {
        var log = StreamFrameLog(maxBytes: 30)
        for seq in UInt64(1)...2 { _ = log.append(seq: seq, message: message(seq)) }
        #expect(log.copyOfNewest(bytes: 0) == ByteBuffer())
        #expect(log.copyOfNewest(bytes: 20) == ByteBuffer(bytes: Array(message(1).readableBytesView) + Array(message(2).readableBytesView)))
        for seq in UInt64(3)...5 { _ = log.append(seq: seq, message: message(seq)) }
        // Frames 1 and 2 were evicted: 40 bytes from the end are no longer all there.
        #expect(log.copyOfNewest(bytes: 30) == ByteBuffer(bytes: (3...5).flatMap { Array(message($0).readableBytesView) }))
        #expect(log.copyOfNewest(bytes: 40) == nil)
    }

    @Test func evictionUnderServerPressureFreesTheOldestFrameUntilEmpty() {
        var log = log(frames: 2)
        #expect(log.evictOldest() == 10)
        #expect(log.evictOldest() == 10)
        #expect(log.evictOldest() == 0)
        #expect(log.read(after: 0) == .outOfRange(oldest: nil, newest: nil))
        #expect(log.read(after: 2) == .caughtUp)
    }

    /// A gRPC message (5-byte prefix, then `size` bytes of `seq`), as a writer's queue holds it.
    func grpcMessage(_ seq: UInt64, size: Int = 10) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(size))
        buffer.writeRepeatingByte(UInt8(truncatingIfNeeded: seq), count: size)
        return buffer
    }

    func queue(of seqs: ClosedRange<UInt64>) -> ByteBuffer {
        var queue = ByteBuffer()
        for seq in seqs { queue.writeImmutableBuffer(grpcMessage(seq)) }
        return queue
    }

    @Test func logTakenOverFromAWritersQueueReadsAndGrowsLikeAnyOther() {
        // The queue dropped frames 1 and 2: it holds 3...6, the last being seq 6.
        var log = StreamFrameLog(maxBytes: 1000, messages: queue(of: 3...6), lastSeq: 6)
        #expect(log.oldestSeq == 3)
        #expect(log.read(after: 4) == .frames((5...6).map { .init(seq: $0, message: grpcMessage($0)) }))
        #expect(log.read(after: 1) == .outOfRange(oldest: 3, newest: 6))
        _ = log.append(seq: 7, message: grpcMessage(7))
        #expect(log.read(after: 5) == .frames((6...7).map { .init(seq: $0, message: grpcMessage($0)) }))
        #expect(log.evictOldest() == 15)
        #expect(log.oldestSeq == 4)
    }

    @Test func logTakenOverFromAWritersQueueKeepsItsOwnBound() {
        // The queue bounds only what it has sent; unsent frames may take it past the log's bound.
        let log = StreamFrameLog(maxBytes: 45, messages: queue(of: 1...5), lastSeq: 5)  // 3 of 15 bytes
        #expect(log.bytes == 45)
        #expect(log.read(after: 2) == .frames((3...5).map { .init(seq: $0, message: grpcMessage($0)) }))
        #expect(log.read(after: 1) == .outOfRange(oldest: 3, newest: 5))
    }
}
