import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import TokenwireCore
import TokenwireProviders
import TokenwireUpstream

/// Reads one upstream response where AsyncHTTPClient reads it: on the call's event loop.
/// Each body part is parsed (framing, then dialect) and its events offered to the call's
/// sink before the next part is read, with no task in between.
///
/// Backpressure: a body part's future completes at once while the sink takes events;
/// when the client is behind (its stream's queue is full), it completes only once the
/// client has caught up, and AsyncHTTPClient reads nothing more from the upstream until
/// then. That wait is the one place a task runs (`Sink.waitUntilReady()`).
///
/// A response that is not 2xx is not parsed: the first `maxErrorBody` bytes of its body
/// are kept for the error message.
///
/// Every callback runs on `eventLoop`; the state lives in a loop-bound box.
final class UpstreamStreamDelegate<Sink: TokenSink>: HTTPClientResponseDelegate {
    enum Response: Sendable {
        /// A 2xx response whose body was relayed to its end.
        case relayed
        /// A response that is not 2xx: its status, headers and the start of its body.
        case httpStatus(Int, HTTPHeaders, String)
    }

    struct State {
        var reader: UpstreamBodyReader
        var status: Int?
        var headers = HTTPHeaders()
        var errorBody = ByteBuffer()
        /// The task waiting for the client to catch up, if one is.
        var waitForClient: Task<Void, Never>?
    }

    let eventLoop: any EventLoop
    private let sink: Sink
    private let activity: UpstreamActivity
    private let provider: String
    private let maxErrorBody: Int
    private let state: NIOLoopBoundBox<State>

    init(
        endpoint: UpstreamEndpoint, sink: Sink, activity: UpstreamActivity, maxErrorBody: Int,
        eventLoop: any EventLoop
    ) {
        self.eventLoop = eventLoop
        self.sink = sink
        self.activity = activity
        self.provider = endpoint.provider
        self.maxErrorBody = maxErrorBody
        let reader = UpstreamBodyReader(
            dialect: endpoint.dialect, provider: endpoint.provider, maxEventBytes: endpoint.maxEventBytes)
        self.state = .makeBoxSendingValue(State(reader: reader), eventLoop: eventLoop)
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.value.status = Int(head.status.code)
        state.value.headers = head.headers
        guard (200..<300).contains(Int(head.status.code)) else { return eventLoop.makeSucceededVoidFuture() }
        if let encoding = head.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
            return eventLoop.makeFailedFuture(UpstreamFailure(
                .unavailable(
                    "provider '\(provider)' sent a \(ErrorExcerpt.quoted(encoding))-encoded body (content-encoding), "
                        + "though the relay asks for identity; the relay reads the stream as it arrives and decodes no compression: "
                        + "turn compression off for this endpoint (a proxy in between may be adding it)"),
                isRetryable: false))
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard let status = state.value.status, (200..<300).contains(status) else {
            var slice = buffer
            let room = maxErrorBody - state.value.errorBody.readableBytes
            if let kept = slice.readSlice(length: min(room, slice.readableBytes)) {
                state.value.errorBody.writeImmutableBuffer(kept)
            }
            // Enough of an error body for its message: stop reading (the exchange reports
            // the status with what was kept).
            if state.value.errorBody.readableBytes >= maxErrorBody {
                return eventLoop.makeFailedFuture(ErrorBodyKept())
            }
            return eventLoop.makeSucceededVoidFuture()
        }
        let (events, failure) = state.value.reader.consume(buffer)
        activity.upstreamSpoke(delivered: !events.isEmpty)
        let ready: Bool
        do {
            ready = try offer(events)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        guard ready else { return waitForClient() }
        activity.beginWaiting()
        return eventLoop.makeSucceededVoidFuture()
    }

    /// The exchange failed or was cancelled: a wait for the client ends with it.
    func didReceiveError(task: HTTPClient.Task<Response>, _ error: any Error) {
        state.value.waitForClient?.cancel()
        state.value.waitForClient = nil
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        if let (status, headers, body) = errorResponse { return .httpStatus(status, headers, body) }
        try finishBody()
        return .relayed
    }

    /// The end of the body: the dialect's last events, or its failure if the stream was
    /// incomplete. Also called when the connection failed after the dialect's terminator,
    /// which lost nothing.
    func finishBody() throws {
        let (events, failure) = state.value.reader.finish()
        activity.upstreamSpoke(delivered: !events.isEmpty)
        _ = try offer(events)
        if let failure { throw failure }
    }

    /// Ends the reading of an error body once `maxErrorBody` bytes of it are kept.
    struct ErrorBodyKept: Error {}

    /// The status, headers and body so far of a response that is not 2xx, if it is one.
    var errorResponse: (Int, HTTPHeaders, String)? {
        guard let status = state.value.status, !(200..<300).contains(status) else { return nil }
        return (status, state.value.headers, String(buffer: state.value.errorBody))
    }

    /// Whether the dialect has seen its stream's terminator.
    var isComplete: Bool { state.value.reader.isComplete }

    /// Bytes and events read so far, for error messages.
    var progress: (bytes: Int, events: Int) { (state.value.reader.bytesSeen, state.value.reader.eventsSeen) }

    /// Offers every event (a full queue does not drop any: the next part waits instead).
    /// - Returns: whether the sink takes more at once.
    private func offer(_ events: [TokenEvent]) throws -> Bool {
        var ready = true
        for event in events {
            ready = try sink.offer(event) && ready
        }
        return ready
    }

    /// The client is behind: the next read waits until it has caught up.
    private func waitForClient() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let (sink, activity) = (self.sink, self.activity)
        state.value.waitForClient = promise.completeWithTask {
            try await sink.waitUntilReady()
            activity.beginWaiting()
        }
        return promise.futureResult.always { [state] _ in state.value.waitForClient = nil }
    }
}
