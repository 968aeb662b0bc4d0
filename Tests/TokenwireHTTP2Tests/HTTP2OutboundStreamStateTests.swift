import NIOCore
import Testing
@testable import TokenwireHTTP2

/// `HTTP2OutboundStreamState` as a value: every event, the action it returns. Waiters are
/// plain numbers here, so a test can see exactly which writers an event hands back.
@Suite("HTTP2OutboundStreamState: a stream's queue as a value")
struct HTTP2OutboundStreamStateTests {
    typealias State = HTTP2OutboundStreamState<Int>

    func makeState(high: Int = 64, low: Int = 16, yield: Int = 1000, attachedAs id: HTTP2StreamID? = 1) -> State {
        var state = State(
            limits: .init(highWatermark: high, lowWatermark: low, yieldInterval: yield),
            buffer: ByteBufferAllocator().buffer(capacity: 16))
        if let id { state.attach(streamID: id, headersSubmitted: true) }
        return state
    }

    func write(_ count: Int, to state: inout State) throws(HTTP2StreamClosedError) -> State.EnqueueAction {
        try state.enqueue(turnBytes: nil) { $0.writeRepeatingByte(7, count: count) }
    }

    func read(_ count: Int, from state: inout State) -> (State.ReadResult, resume: [Int]) {
        var bytes = [UInt8](repeating: 0, count: count)
        return bytes.withUnsafeMutableBytes { state.read(into: $0) }
    }

    // MARK: enqueue

    @Test func firstWriteSinceAFlushSchedulesOneAndLaterWritesDoNot() throws {
        var state = makeState()
        #expect(try write(1, to: &state) == .init(outcome: .written, count: 1, heldBytes: 1, scheduleFlush: true))
        #expect(try write(1, to: &state) == .init(outcome: .written, count: 2, heldBytes: 2, scheduleFlush: false))
        #expect(state.flush() == .resumeData(1))
        #expect(try write(1, to: &state) == .init(outcome: .written, count: 3, heldBytes: 3, scheduleFlush: true))
    }

    @Test func writeReachingTheHighWatermarkMustWait() throws {
        var state = makeState(high: 64)
        #expect(try write(63, to: &state).outcome == .written)
        #expect(try write(1, to: &state).outcome == .mustWait)
    }

    @Test func writerThatQueuedItsTurnMustYieldAndTheCountStartsAgain() throws {
        var state = makeState(high: 1 << 20, yield: 100)
        #expect(try write(99, to: &state).outcome == .written)
        #expect(try write(1, to: &state).outcome == .mustYield)
        #expect(try write(99, to: &state).outcome == .written)
        let shortTurn = try state.enqueue(turnBytes: 10) { $0.writeRepeatingByte(7, count: 10) }
        #expect(shortTurn.outcome == .mustYield)
    }

    @Test func writeAfterFinishThrowsNoErrorAndDoesNotRunItsBody() throws {
        var state = makeState()
        _ = state.finish(trailers: nil)
        var ran = false
        #expect(throws: HTTP2StreamClosedError.self) {
            _ = try state.enqueue(turnBytes: nil) { _ in ran = true }
        }
        #expect(!ran)
    }

    @Test func writeAfterCloseThrowsTheCloseError() throws {
        var state = makeState()
        _ = state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "peer reset"))
        do {
            _ = try write(1, to: &state)
            Issue.record("the write was taken")
        } catch {
            #expect(error.errorCode == .cancel)
            #expect(error.reason == "peer reset")
        }
    }

    // MARK: finish

    @Test func finishSchedulesAFlushOnlyWhenNoneIsPendingAndOnlyOnce() throws {
        var fresh = makeState()
        let first = fresh.finish(trailers: nil)
        let again = fresh.finish(trailers: nil)
        #expect(first)
        #expect(!again)  // already finished

        var written = makeState()
        _ = try write(3, to: &written)
        let afterWrite = written.finish(trailers: nil)
        #expect(!afterWrite)  // the write's flush is still pending
    }

    @Test func finishOfAClosedStreamDoesNothing() {
        var state = makeState()
        _ = state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "gone"))
        let scheduled = state.finish(trailers: []) { $0.writeRepeatingByte(1, count: 5) }
        #expect(!scheduled)
        #expect(state.buffer.readableBytes == 0)
    }

    @Test func finishAppendingQueuesTheLastMessageBeforeEnding() {
        var state = makeState()
        let scheduled = state.finish(trailers: [HTTP2Header("grpc-status", "0")]) { $0.writeRepeatingByte(1, count: 5) }
        #expect(scheduled)
        let (result, _) = read(100, from: &state)
        #expect(result == .data(count: 5, endOfData: true, trailers: [HTTP2Header("grpc-status", "0")]))
    }

    // MARK: flush

    @Test func flushBeforeTheStreamHasAnIDDoesNothing() throws {
        var state = makeState(attachedAs: nil)
        _ = try write(1, to: &state)
        #expect(state.flush() == .none)
        // Attached later, the next write schedules again and submits the headers.
        state.attach(streamID: 5, headersSubmitted: false)
        #expect(try write(1, to: &state).scheduleFlush)
        #expect(state.flush() == .submitHeaders(5))
    }

    @Test func serverFlushSubmitsHeadersOnceThenResumesData() throws {
        var state = makeState(attachedAs: nil)
        state.attach(streamID: 3, headersSubmitted: false)
        _ = try write(4, to: &state)
        #expect(state.flush() == .submitHeaders(3))
        _ = try write(4, to: &state)
        #expect(state.flush() == .resumeData(3))
    }

    @Test func finishWithNothingWrittenIsATrailersOnlyResponse() {
        var state = makeState(attachedAs: nil)
        state.attach(streamID: 3, headersSubmitted: false)
        _ = state.finish(trailers: [HTTP2Header("grpc-status", "5")])
        #expect(state.flush() == .submitTrailersOnly(3, trailers: [HTTP2Header("grpc-status", "5")]))
    }

    @Test func finishAfterDataIsNotTrailersOnly() throws {
        var state = makeState(attachedAs: nil)
        state.attach(streamID: 3, headersSubmitted: false)
        _ = try write(2, to: &state)
        _ = state.finish(trailers: [HTTP2Header("grpc-status", "0")])
        #expect(state.flush() == .submitHeaders(3))
    }

    // MARK: read

    @Test func readOfAnEmptyOpenStreamDefers() {
        var state = makeState()
        #expect(read(10, from: &state).0 == .deferred)
    }

    @Test func readTakesAtMostWhatNghttp2AsksFor() throws {
        var state = makeState()
        _ = try write(30, to: &state)
        #expect(read(20, from: &state).0 == .data(count: 20, endOfData: false, trailers: nil))
        #expect(read(20, from: &state).0 == .data(count: 10, endOfData: false, trailers: nil))
        #expect(read(20, from: &state).0 == .deferred)
    }

    @Test func readResumesEveryWaiterOnlyOnceTheQueueIsAtTheLowWatermark() throws {
        var state = makeState(high: 64, low: 16)
        _ = try write(80, to: &state)
        let first = state.makeWaiterID()
        let second = state.makeWaiterID()
        guard case .suspended = state.wait(id: first, 1, isCancelled: false),
            case .suspended = state.wait(id: second, 2, isCancelled: false)
        else {
            Issue.record("the writers did not wait")
            return
        }
        #expect(read(40, from: &state).resume.isEmpty)  // 40 left: above 16
        #expect(read(24, from: &state).resume.sorted() == [1, 2])  // 16 left
        #expect(state.waiterCount == 0)
    }

    @Test func lastReadOfAFinishedStreamEndsTheDataWithItsTrailersAndClosesIt() throws {
        var state = makeState()
        _ = try write(10, to: &state)
        _ = state.finish(trailers: [HTTP2Header("grpc-status", "0")])
        #expect(read(4, from: &state).0 == .data(count: 4, endOfData: false, trailers: nil))
        #expect(read(100, from: &state).0 == .data(count: 6, endOfData: true, trailers: [HTTP2Header("grpc-status", "0")]))
        #expect(!state.isOpen)
        #expect(read(100, from: &state).0 == .closed)
    }

    @Test func finishWithoutTrailersEndsTheDataWithEndStream() {
        var state = makeState()
        _ = state.finish(trailers: nil)
        #expect(read(100, from: &state).0 == .data(count: 0, endOfData: true, trailers: nil))
    }

    // MARK: wait

    @Test func waitAtOrBelowTheLowWatermarkResumesAtOnce() throws {
        var state = makeState(high: 64, low: 16)
        _ = try write(16, to: &state)
        guard case .resume = state.wait(id: state.makeWaiterID(), 1, isCancelled: false) else {
            Issue.record("expected to resume at once")
            return
        }
        #expect(state.waiterCount == 0)
    }

    @Test func waitOnAClosedStreamFailsWithTheCloseError() {
        var state = makeState()
        _ = state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "gone"))
        guard case .fail(let error) = state.wait(id: state.makeWaiterID(), 1, isCancelled: false) else {
            Issue.record("expected a failure")
            return
        }
        #expect((error as? HTTP2StreamClosedError)?.errorCode == .cancel)
    }

    @Test func waitOfACancelledWriterFailsWithCancellation() throws {
        var state = makeState(high: 64, low: 16)
        _ = try write(80, to: &state)
        guard case .fail(let error) = state.wait(id: state.makeWaiterID(), 1, isCancelled: true) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error is CancellationError)
        #expect(state.waiterCount == 0)
    }

    @Test func cancelledWaiterIsHandedBackOnceAndTheOthersStay() throws {
        var state = makeState(high: 64, low: 16)
        _ = try write(80, to: &state)
        let first = state.makeWaiterID()
        let second = state.makeWaiterID()
        #expect(first != second)
        _ = state.wait(id: first, 1, isCancelled: false)
        _ = state.wait(id: second, 2, isCancelled: false)
        #expect(state.cancelWait(id: first) == 1)
        #expect(state.cancelWait(id: first) == nil)
        #expect(state.waiterCount == 1)
    }

    // MARK: close

    @Test func closeHandsBackEveryWaiterAndDropsTheQueue() throws {
        var state = makeState(high: 64, low: 16)
        _ = try write(80, to: &state)
        _ = state.wait(id: state.makeWaiterID(), 1, isCancelled: false)
        _ = state.wait(id: state.makeWaiterID(), 2, isCancelled: false)
        #expect(state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "gone")).sorted() == [1, 2])
        #expect(state.buffer.readableBytes == 0)
        #expect(state.waiterCount == 0)
        #expect(read(100, from: &state).0 == .closed)
    }

    @Test func secondCloseKeepsTheFirstError() {
        var state = makeState()
        _ = state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "first"))
        _ = state.close(HTTP2StreamClosedError(errorCode: .internalError, reason: "second"))
        guard case .closed(let error) = state.phase else {
            Issue.record("expected closed")
            return
        }
        #expect(error.reason == "first")
    }

    // MARK: retention (a resumable stream's log in its reader's queue)

    /// Messages as the retention tests write them: a 1-byte length, then that many bytes.
    static let oneByteLength: @Sendable (ByteBuffer, Int) -> Int? = { buffer, index in
        var view = buffer
        view.moveReaderIndex(to: index)
        guard let length = view.getInteger(at: index, as: UInt8.self) else { return nil }
        return index + 1 + Int(length) <= buffer.writerIndex ? 1 + Int(length) : nil
    }

    func writeMessage(_ byte: UInt8, length: Int, to state: inout State) throws(HTTP2StreamClosedError) {
        _ = try state.enqueue(turnBytes: nil) { buffer in
            buffer.writeInteger(UInt8(length))
            buffer.writeRepeatingByte(byte, count: length)
        }
    }

    @Test func retainingQueueKeepsSentMessagesAndHandsOverSentAndUnsentInOrder() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 1000, messageLength: Self.oneByteLength)
        try writeMessage(1, length: 3, to: &state)
        try writeMessage(2, length: 3, to: &state)
        _ = read(6, from: &state)  // message 1 and half of message 2 sent
        try writeMessage(3, length: 2, to: &state)
        #expect(state.heldBytes == 11)
        #expect(state.buffer.readableBytes == 5)  // backpressure counts unsent bytes only
        let taken = state.takeRetained()
        let (messages, evicted, _) = try #require(taken)
        #expect(Array(messages.readableBytesView) == [3, 1, 1, 1, 3, 2, 2, 2, 2, 3, 3])
        #expect(evicted == 0)
        #expect(state.retention == nil)
        let again = state.takeRetained()
        #expect(again == nil)
    }

    @Test func retainingQueueDropsWholeSentMessagesPastItsBoundOldestFirst() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 8, messageLength: Self.oneByteLength)
        for byte in UInt8(1)...4 { try writeMessage(byte, length: 3, to: &state) }
        _ = read(8, from: &state)  // messages 1 and 2 sent: 16 held, 8 allowed, both go
        #expect(state.heldBytes == 8)
        try writeMessage(5, length: 3, to: &state)
        _ = read(3, from: &state)  // part of message 3: it is not whole-sent, so it stays
        let taken = state.takeRetained()
        let (messages, evicted, _) = try #require(taken)
        #expect(evicted == 2)
        #expect(Array(messages.readableBytesView) == [3, 3, 3, 3, 3, 4, 4, 4, 3, 5, 5, 5])
    }

    @Test func finalHandOverOfAnOpenQueueSharesItsBytesAndTheUnsentOnesStillGoOut() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 1000, messageLength: Self.oneByteLength)
        try writeMessage(1, length: 2, to: &state)
        try writeMessage(2, length: 2, to: &state)
        _ = read(4, from: &state)
        let taken = state.takeRetained(final: true)
        let (messages, _, _) = try #require(taken)
        #expect(Array(messages.readableBytesView) == [2, 1, 1, 2, 2, 2])
        // No copy: the hand-over is a view of the queue's own storage.
        #expect(messages.withUnsafeReadableBytes { $0.baseAddress } == state.buffer.withUnsafeReadableBytes { $0.baseAddress! - 4 })
        #expect(state.retention == nil)
        _ = state.finish(trailers: [HTTP2Header("grpc-status", "0")])
        var bytes = [UInt8](repeating: 0, count: 10)
        let (result, _) = bytes.withUnsafeMutableBytes { state.read(into: $0) }
        #expect(result == .data(count: 2, endOfData: true, trailers: [HTTP2Header("grpc-status", "0")]))
        #expect(bytes[..<2] == [2, 2])
        #expect(Array(messages.readableBytesView) == [2, 1, 1, 2, 2, 2])
    }

    @Test func closedRetainingQueueStillHandsOverWhatItKept() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 1000, messageLength: Self.oneByteLength)
        try writeMessage(9, length: 2, to: &state)
        _ = read(3, from: &state)
        try writeMessage(8, length: 1, to: &state)
        _ = state.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "reset"))
        let taken = state.takeRetained()
        let (messages, _, _) = try #require(taken)
        #expect(Array(messages.readableBytesView) == [2, 9, 9, 1, 8])
        #expect(state.buffer.readableBytes == 0)
    }

    @Test func finishedRetainingQueueHandsOverWithoutACopyAndStillSendsTheRest() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 1000, messageLength: Self.oneByteLength)
        try writeMessage(1, length: 2, to: &state)
        try writeMessage(2, length: 2, to: &state)
        _ = read(3, from: &state)
        _ = state.finish(trailers: [HTTP2Header("grpc-status", "0")])
        let taken = state.takeRetained()
        let (messages, _, _) = try #require(taken)
        #expect(Array(messages.readableBytesView) == [2, 1, 1, 2, 2, 2])
        var bytes = [UInt8](repeating: 0, count: 10)
        let (result, _) = bytes.withUnsafeMutableBytes { state.read(into: $0) }
        #expect(result == .data(count: 3, endOfData: true, trailers: [HTTP2Header("grpc-status", "0")]))
        #expect(bytes[..<3] == [2, 2, 2])
        #expect(Array(messages.readableBytesView) == [2, 1, 1, 2, 2, 2])
    }

    @Test func droppingRetainedMessagesKeepsTheUnsentOnes() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 1000, messageLength: Self.oneByteLength)
        try writeMessage(1, length: 2, to: &state)
        try writeMessage(2, length: 2, to: &state)
        _ = read(4, from: &state)  // message 1 and one byte of message 2
        #expect(state.dropRetained() == 3)
        let taken = state.takeRetained()
        let (messages, evicted, _) = try #require(taken)
        #expect(evicted == 1)
        #expect(Array(messages.readableBytesView) == [2, 2, 2])
    }

    @Test func retainingQueueReclaimsTheSpaceOfDroppedMessages() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 200, messageLength: Self.oneByteLength)
        for round in 0..<2000 {
            try writeMessage(UInt8(truncatingIfNeeded: round), length: 99, to: &state)
            _ = read(100, from: &state)
        }
        #expect(state.heldBytes == 200)
        #expect(state.buffer.capacity <= 64 * 1024)
        let taken = state.takeRetained()
        let (messages, evicted, _) = try #require(taken)
        #expect(evicted == 1998)
        #expect(messages.getInteger(at: 1, as: UInt8.self) == UInt8(truncatingIfNeeded: 1998))
    }

    @Test func positionsOfKeptMessagesSurviveCompactionAndACopyFromADroppedOneIsRefused() throws {
        var state = makeState(high: 1 << 20)
        state.retainSentMessages(maxBytes: 300, messageLength: Self.oneByteLength)
        var position = try #require(state.retainedEnd)
        var copied: [UInt8] = []
        for round in 0..<2000 {
            try writeMessage(UInt8(truncatingIfNeeded: round), length: 99, to: &state)
            _ = read(100, from: &state)
            if round % 2 == 1 {
                // Every second message, the messages since the last copy, wherever the
                // queue has moved them meanwhile.
                let copy = try #require(state.copyRetained(from: position))
                copied += copy.messages.readableBytesView
                position = copy.end
            }
        }
        // The queue compacted its buffer many times; the copies still have every message,
        // each once, in order.
        #expect(state.buffer.capacity <= 64 * 1024)
        #expect(copied.count == 2000 * 100)
        #expect((0..<2000).allSatisfy { copied[$0 * 100 + 1] == UInt8(truncatingIfNeeded: $0) })
        #expect(state.retainedEnd == position)
        // From a position whose message the bound dropped: nothing, not a wrong copy.
        #expect(state.copyRetained(from: position - 1000) == nil)
        let handedOver = state.takeRetained()
        let taken = try #require(handedOver)
        #expect(taken.start + taken.messages.readableBytes == position)
        #expect(state.copyRetained(from: position) == nil)
    }
}
