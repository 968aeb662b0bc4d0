import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import TokenwireCore
import TokenwireProviders
import TokenwireUpstream

/// One try at a provider: send the request, then relay the body's events to the sink the
/// moment each read is parsed, on the call's event loop (`UpstreamStreamDelegate`).
///
/// The body is read only as fast as the sink takes the events, so a slow client slows
/// the upstream read (AsyncHTTPClient reads no more until the delegate's future completes).
struct UpstreamExchange {
    let client: HTTPClient
    let endpoint: UpstreamEndpoint
    let keySource: APIKeySource
    let activity: UpstreamActivity
    /// AsyncHTTPClient's own trace logging, off unless the server logs at trace level
    /// (its per-request metadata costs about 1% of a token's CPU even when filtered out).
    let logger: Logger?

    /// Largest error body read for its message.
    static let maxErrorBody = 64 * 1024

    /// - Parameter model: The provider's own model name.
    /// - Throws: `UpstreamFailure`, or `CancellationError` if the call went away.
    func run<Sink: TokenSink>(_ request: GenerateRequest, model: String, deadline: NIODeadline, into sink: Sink) async throws {
        let httpRequest: HTTPClient.Request
        do {
            httpRequest = try endpoint.makeRequest(for: request, model: model)
        } catch {
            throw UpstreamFailure(error, isRetryable: false)
        }
        let eventLoop = Self.callLoop(in: client.eventLoopGroup)
        let delegate = UpstreamStreamDelegate(
            endpoint: endpoint, sink: sink, activity: activity, maxErrorBody: Self.maxErrorBody, eventLoop: eventLoop)
        activity.beginWaiting()
        // The delegate runs on the call's loop; the connection is one there when the pool has
        // one (AsyncHTTPClient prefers it), else another loop's, whose reads hop here.
        // Requiring it there (`.delegateAndChannel(on:)`) doubled the time to first token
        // of 500 paced streams opening at once (docs/BENCHMARKS.md, "The relay on the loop").
        let task = client.execute(
            request: httpRequest, delegate: delegate, eventLoop: .delegate(on: eventLoop),
            deadline: deadline, logger: logger)
        let response: UpstreamStreamDelegate<Sink>.Response
        do {
            response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            try await settle(error, of: delegate, on: eventLoop)
            return
        }
        if case .httpStatus(let status, let headers, let body) = response {
            throw statusFailure(status, headers, body)
        }
    }

    /// The failure a response that is not 2xx stands for (retryable or not by its status).
    private func statusFailure(_ status: Int, _ headers: HTTPHeaders, _ body: String) -> UpstreamFailure {
        UpstreamHTTPStatus.failure(
            status: status, headers: headers, body: body, provider: endpoint.provider, keySource: keySource)
    }

    /// The loop the call runs on, when it is one of the client's: the upstream connection
    /// and the body's parsing then share the loop (and the thread) that writes to the
    /// client. Otherwise (a call on the global executor, tests) any of the client's loops.
    static func callLoop(in group: any EventLoopGroup) -> any EventLoop {
        group.makeIterator().first(where: { $0.inEventLoop }) ?? group.next()
    }

    /// After the exchange failed: a connection that died after the dialect's terminator
    /// lost nothing (the stream ends as if the body had); one that died while an error
    /// response's body arrived is that response's failure; anything else is `failure`.
    private func settle<Sink: TokenSink>(
        _ error: any Error, of delegate: UpstreamStreamDelegate<Sink>, on eventLoop: any EventLoop
    ) async throws {
        try await eventLoop.submit { [self] in
            if error is UpstreamFailure || error is TokenwireError { throw error }
            if let (status, headers, body) = delegate.errorResponse { throw statusFailure(status, headers, body) }
            if delegate.isComplete {
                try delegate.finishBody()
                return
            }
            let progress = delegate.progress
            throw transportFailure(error, bytesSeen: progress.bytes, eventsSeen: progress.events)
        }.get()
    }

    /// UNAVAILABLE for a connection that could not be made or broke, naming the provider
    /// (a cancelled call was told apart before).
    private func transportFailure(_ error: any Error, bytesSeen: Int, eventsSeen: Int) -> any Error {
        if error is CancellationError { return CancellationError() }
        if let failure = error as? UpstreamFailure { return failure }
        if let error = error as? HTTPClientError, error == .deadlineExceeded {
            return UpstreamFailure(
                .deadlineExceeded("the call's deadline passed while waiting for provider '\(endpoint.provider)'"),
                isRetryable: false)
        }
        let when = bytesSeen == 0 ? "before its response" : "after \(bytesSeen) bytes (\(eventsSeen) events) of the stream"
        return UpstreamFailure(
            .unavailable("provider '\(endpoint.provider)' at \(endpoint.baseURL): the connection failed \(when) (\(error))"),
            isRetryable: true)
    }
}
