import NIOCore
import Testing
import TokenwireCore
@testable import TokenwireServer
import TokenwireTestSupport

/// `GRPCServerCallState` as a value: every event in every phase, the action it returns.
/// A started handler is a plain number here.
@Suite("GRPCServerCallState: one call's life as a value")
struct GRPCServerCallStateTests {
    typealias State = GRPCServerCallState<Int>

    static let method = GRPCMethod(path: "/tokenwire.v1.TokenStream/Generate") { _, _, _ in }

    func makeState(maxMessageSize: Int = 1024) -> State {
        State(method: Self.method, maxMessageSize: maxMessageSize)
    }

    /// A length-prefixed gRPC message (uncompressed) with `payload`.
    func message(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    /// A state whose handler has started (as `running`).
    func runningState(_ running: Int = 7) -> State {
        var state = makeState()
        _ = state.received(message([1, 2, 3]), refusal: nil)
        _ = state.receivedEnd()
        state.started(running)
        return state
    }

    // MARK: receiving

    @Test func wholeRequestThenEndStartsTheHandlerAndReleasesItsBytes() {
        var state = makeState()
        let bytes = message([1, 2, 3])
        guard case .none = state.received(bytes, refusal: nil) else {
            Issue.record("a whole message alone must not start the call before END_STREAM")
            return
        }
        #expect(state.heldRequestBytes == 8)
        guard case .start(let method, let request, let releasing) = state.receivedEnd() else {
            Issue.record("expected the handler to start")
            return
        }
        #expect(method.path == Self.method.path)
        #expect(Array(request.readableBytesView) == [1, 2, 3])
        #expect(releasing == 8)
        #expect(state.heldRequestBytes == 0)
        #expect(!state.isReceiving)
    }

    @Test func requestSplitAcrossDataFramesIsReassembled() {
        var state = makeState()
        var bytes = message([9, 8, 7, 6])
        let head = bytes.readSlice(length: 3)!
        _ = state.received(head, refusal: nil)
        _ = state.received(bytes, refusal: nil)
        guard case .start(_, let request, let releasing) = state.receivedEnd() else {
            Issue.record("expected the handler to start")
            return
        }
        #expect(Array(request.readableBytesView) == [9, 8, 7, 6])
        #expect(releasing == 9)
    }

    @Test func bytesTheLimitsRefuseFailTheCallWithTheRefusalAndReleaseWhatWasHeld() {
        var state = makeState()
        var bytes = message([1, 2, 3, 4])
        _ = state.received(bytes.readSlice(length: 2)!, refusal: nil)
        let refusal = GRPCStatus(code: .resourceExhausted, message: "over the budget")
        guard case .fail(let status, let releasing) = state.received(bytes, refusal: refusal) else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status == refusal)
        #expect(releasing == 2)  // the refused bytes were never held
        #expect(!state.isReceiving)
    }

    @Test func secondRequestMessageFailsUnimplemented() {
        var state = makeState()
        var two = message([1])
        two.writeImmutableBuffer(message([2]))
        guard case .fail(let status, let releasing) = state.received(two, refusal: nil) else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status.code == .unimplemented)
        #expect(status.message.contains("more than one"))
        #expect(releasing == 12)
    }

    @Test func messageOverTheSizeLimitFailsWithTheDeframersStatus() {
        var state = makeState(maxMessageSize: 4)
        guard case .fail(let status, _) = state.received(message([1, 2, 3, 4, 5]), refusal: nil) else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status.code == .resourceExhausted)
    }

    @Test func endInsideAMessageFailsInternalNamingTheBytes() {
        var state = makeState()
        var bytes = message([1, 2, 3])
        _ = state.received(bytes.readSlice(length: 6)!, refusal: nil)
        guard case .fail(let status, let releasing) = state.receivedEnd() else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status.code == .internal)
        #expect(status.message.contains("1 bytes of an incomplete"))  // the prefix is read; 1 payload byte of 3 is held
        #expect(releasing == 6)
    }

    @Test func endWithoutAMessageFailsUnimplemented() {
        var state = makeState()
        guard case .fail(let status, 0) = state.receivedEnd() else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status.code == .unimplemented)
        #expect(status.message.contains("sent none"))
    }

    @Test func requestTimeoutWhileReceivingFailsDeadlineExceededWithTheBytesSoFar() {
        var state = makeState()
        var bytes = message([1, 2, 3])
        _ = state.received(bytes.readSlice(length: 7)!, refusal: nil)
        guard case .fail(let status, 7) = state.requestTimedOut(.seconds(10)) else {
            Issue.record("expected the call to fail, releasing 7 bytes")
            return
        }
        #expect(status.code == .deadlineExceeded)
        #expect(status.message.contains("7 bytes arrived, 2 of them in an unfinished message"))
    }

    @Test func deadlineWhileReceivingFailsTheCall() {
        var state = makeState()
        guard case .fail(let status, 0) = state.deadlineExpired(.milliseconds(5)) else {
            Issue.record("expected the call to fail")
            return
        }
        #expect(status.code == .deadlineExceeded)
    }

    @Test func closeWhileReceivingReleasesTheHeldBytes() {
        var state = makeState()
        _ = state.received(message([1]), refusal: nil)
        guard case .release(6) = state.closed() else {
            Issue.record("expected the held bytes to be released")
            return
        }
        #expect(!state.isReceiving)
    }

    // MARK: running

    @Test func deadlineWhileRunningFinishesThenCancelsTheHandler() {
        var state = runningState(7)
        guard case .finishAndCancel(7, let status) = state.deadlineExpired(.milliseconds(5)) else {
            Issue.record("expected finish and cancel")
            return
        }
        #expect(status.code == .deadlineExceeded)
        #expect(status.message.contains("grpc-timeout"))
        guard case .none = state.closed() else {
            Issue.record("a call already ended by its deadline must not be cancelled twice")
            return
        }
    }

    @Test func closeWhileRunningCancelsTheHandler() {
        var state = runningState(3)
        guard case .cancel(3) = state.closed() else {
            Issue.record("expected the handler to be cancelled")
            return
        }
    }

    @Test func connectionLostWhileRunningDetachesTheHandlerInsteadOfCancellingIt() {
        var state = runningState(3)
        guard case .detach(3) = state.closed(connectionLost: true) else {
            Issue.record("expected the handler to be detached (a resumable stream goes on without its client)")
            return
        }
        guard case .none = state.closed() else {
            Issue.record("a detached call must not be cancelled by a later close")
            return
        }
    }

    @Test func connectionLostBeforeTheRequestIsWholeReleasesItsBytes() {
        var state = makeState()
        _ = state.received(message([1, 2, 3]).getSlice(at: 0, length: 4)!, refusal: nil)
        guard case .release(4) = state.closed(connectionLost: true) else {
            Issue.record("expected the held request bytes to be released")
            return
        }
    }

    @Test func requestEventsWhileRunningAreIgnored() {
        var state = runningState()
        guard case .none = state.received(message([1]), refusal: nil),
            case .none = state.receivedEnd(),
            case .none = state.requestTimedOut(.seconds(1))
        else {
            Issue.record("request events after the start must do nothing")
            return
        }
        guard case .running(7) = state.phase else {
            Issue.record("the call must still be running")
            return
        }
    }

    // MARK: done

    @Test func everyEventAfterTheCallEndedDoesNothing() {
        var state = makeState()
        _ = state.receivedEnd()  // fails: no message
        guard case .none = state.received(message([1]), refusal: nil),
            case .none = state.receivedEnd(),
            case .none = state.requestTimedOut(.seconds(1)),
            case .none = state.deadlineExpired(.seconds(1)),
            case .none = state.closed()
        else {
            Issue.record("events after the end must do nothing")
            return
        }
    }

    // MARK: request streams (bidirectional methods)

    static let streamingMethod = GRPCMethod.requestStream(path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") { _, _, _ in }

    /// A request-stream state whose handler has started (as `running`).
    func streamingState(_ running: Int = 9) -> State {
        var state = State(method: Self.streamingMethod, maxMessageSize: 1024)
        guard case .startStreaming = state.headersReceived() else {
            Issue.record("a request-stream method must start at its headers")
            return state
        }
        state.startedStreaming(running)
        return state
    }

    @Test func singleRequestMethodDoesNotStartAtItsHeaders() {
        var state = makeState()
        guard case .none = state.headersReceived() else {
            Issue.record("a single-request method starts only once its request is whole")
            return
        }
        #expect(state.isReceiving)
    }

    @Test func requestStreamDeliversEachMessageAsItArrivesHoweverTheBytesAreSplit() {
        var state = streamingState()
        #expect(state.isStreamingRequests && !state.isReceiving)
        var bytes = message([1, 2])
        bytes.writeImmutableBuffer(message([3]))
        var first = bytes.readSlice(length: 4)!  // inside the first message's prefix
        guard case .none = state.received(first.readSlice(length: 4)!, refusal: nil) else {
            Issue.record("half a message delivers nothing")
            return
        }
        guard case .deliver(let running, let messages) = state.received(bytes, refusal: nil) else {
            Issue.record("expected both messages")
            return
        }
        #expect(running == 9)
        #expect(messages.map { Array($0.readableBytesView) } == [[1, 2], [3]])
        guard case .endRequests(9) = state.receivedEnd() else {
            Issue.record("END_STREAM ends the handler's requests")
            return
        }
        // The handler still runs: a deadline now ends it.
        guard case .finishAndCancel(9, let status) = state.deadlineExpired(.seconds(1)) else {
            Issue.record("expected the deadline to finish the running handler")
            return
        }
        #expect(status.code == .deadlineExceeded)
    }

    @Test func requestStreamEndingInsideAMessageFailsTheRunningHandlerWithInternal() {
        var state = streamingState()
        var bytes = message([1, 2, 3])
        _ = state.received(bytes.readSlice(length: 6)!, refusal: nil)
        guard case .finishAndCancel(9, let status) = state.receivedEnd() else {
            Issue.record("expected the handler to be finished and cancelled")
            return
        }
        #expect(status.code == .internal)
        #expect(status.message.contains("1 bytes of an incomplete length-prefixed message"))
    }

    @Test func requestStreamTheHandlerDoesNotReadEndsResourceExhaustedOnce() {
        var state = streamingState()
        guard case .finishAndCancel(9, let status) = state.requestsOverflowed(limit: 1024) else {
            Issue.record("expected the handler to be finished and cancelled")
            return
        }
        #expect(status.code == .resourceExhausted)
        guard case .none = state.received(message([1]), refusal: nil), case .none = state.closed() else {
            Issue.record("an ended call ignores what comes after")
            return
        }
    }

    @Test func resetDuringARequestStreamCancelsAndALostConnectionDetachesTheHandler() {
        var reset = streamingState()
        guard case .cancel(9) = reset.closed() else {
            Issue.record("expected cancel")
            return
        }
        var lost = streamingState()
        guard case .detach(9) = lost.closed(connectionLost: true) else {
            Issue.record("expected detach")
            return
        }
    }
}
