import AsyncHTTPClient
import Logging
import NIOCore
import TokenwireCore
import TokenwireProviders
import TokenwireUpstream

/// One try at a provider: send the request, check the response head, then relay the
/// body's events to the sink the moment each read is parsed.
///
/// The body is read only as fast as the sink takes the events, so a slow client slows
/// the upstream read (AsyncHTTPClient stops reading the socket when its buffer is full).
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
    func run(_ request: GenerateRequest, model: String, deadline: NIODeadline, into sink: some TokenSink) async throws {
        let httpRequest: HTTPClientRequest
        do {
            httpRequest = try endpoint.makeRequest(for: request, model: model)
        } catch {
            throw UpstreamFailure(error, isRetryable: false)
        }
        activity.beginWaiting()
        let response: HTTPClientResponse
        do {
            response = try await client.execute(httpRequest, deadline: deadline, logger: logger)
        } catch {
            throw transportFailure(error, reading: "its response", bytesSeen: 0, eventsSeen: 0)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await response.body.collect(upTo: Self.maxErrorBody)).map { String(buffer: $0) } ?? ""
            throw UpstreamHTTPStatus.failure(
                status: Int(response.status.code), headers: response.headers, body: body,
                provider: endpoint.provider, keySource: keySource)
        }
        if let encoding = response.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
            throw UpstreamFailure(
                .unavailable(
                    "provider '\(endpoint.provider)' sent a \(ErrorExcerpt.quoted(encoding))-encoded body (content-encoding), "
                        + "though the relay asks for identity; the relay reads the stream as it arrives and decodes no compression: "
                        + "turn compression off for this endpoint (a proxy in between may be adding it)"),
                isRetryable: false)
        }
        try await relay(response.body, into: sink)
    }

    /// Reads the body to its end, sending each read's events before the next read.
    private func relay(_ body: HTTPClientResponse.Body, into sink: some TokenSink) async throws {
        var reader = UpstreamBodyReader(
            dialect: endpoint.dialect, provider: endpoint.provider, maxEventBytes: endpoint.maxEventBytes)
        var iterator = body.makeAsyncIterator()
        while true {
            let read: ByteBuffer?
            do {
                read = try await iterator.next()
            } catch {
                // A connection that dies after the dialect's terminator lost nothing.
                if reader.isComplete { break }
                throw transportFailure(error, reading: "the stream", bytesSeen: reader.bytesSeen, eventsSeen: reader.eventsSeen)
            }
            guard let read else { break }
            let (events, failure) = reader.consume(read)
            activity.upstreamSpoke(delivered: !events.isEmpty)
            try await deliver(events, to: sink)
            if let failure { throw failure }
            activity.beginWaiting()
        }
        let (events, failure) = reader.finish()
        activity.upstreamSpoke(delivered: !events.isEmpty)
        try await deliver(events, to: sink)
        if let failure { throw failure }
    }

    private func deliver(_ events: [TokenEvent], to sink: some TokenSink) async throws {
        for event in events { try await sink.send(event) }
    }

    /// UNAVAILABLE for a connection that could not be made or broke, naming the provider;
    /// a cancelled call stays cancelled.
    private func transportFailure(_ error: any Error, reading what: String, bytesSeen: Int, eventsSeen: Int) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let failure = error as? UpstreamFailure { return failure }
        if let error = error as? HTTPClientError, error == .deadlineExceeded {
            return UpstreamFailure(
                .deadlineExceeded("the call's deadline passed while waiting for provider '\(endpoint.provider)'"),
                isRetryable: false)
        }
        let when = bytesSeen == 0 ? "before" : "after \(bytesSeen) bytes (\(eventsSeen) events) of"
        return UpstreamFailure(
            .unavailable("provider '\(endpoint.provider)' at \(endpoint.baseURL): the connection failed \(when) \(what) (\(error))"),
            isRetryable: true)
    }
}
