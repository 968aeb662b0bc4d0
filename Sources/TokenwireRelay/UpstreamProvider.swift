import AsyncHTTPClient
import Logging
import NIOCore
public import TokenwireCore
public import TokenwireProviders
import TokenwireUpstream

/// A token provider that streams from an upstream LLM API: one configured provider
/// (dialect, base URL, key, models) with its own pooled `HTTPClient`.
///
/// Each call: the request is translated to the dialect's body and sent; the response's
/// events go to the sink as they are parsed. Before the client has a token, failures
/// that another try may cure are retried with backoff (honouring `Retry-After`) within
/// the call's deadline. A watchdog sends Heartbeat frames while the upstream is silent
/// and ends the call when it stalls.
public final class UpstreamProvider: TokenProvider {
    public let name: String
    public let models: [String]
    private let configuration: UpstreamProviderConfiguration
    private let endpoint: UpstreamEndpoint
    private let client: HTTPClient
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: The provider's settings.
    ///   - apiKey: The resolved key, or nil.
    ///   - client: The HTTP client to use; the provider shuts it down in `shutdown()`.
    init(configuration: UpstreamProviderConfiguration, apiKey: String?, client: HTTPClient, logger: Logger) {
        self.name = configuration.name
        self.models = configuration.routedModels
        self.configuration = configuration
        self.endpoint = UpstreamEndpoint(configuration: configuration, apiKey: apiKey)
        self.client = client
        self.logger = logger
    }

    public func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws {
        let model = String(request.model.dropFirst(name.count + 1))
        let activity = UpstreamActivity()
        let watchdog = UpstreamWatchdog(
            provider: name, timeouts: configuration.timeouts, activity: activity,
            heartbeat: { [name, observer = ProviderEvents.observer] in
                sink.heartbeat()
                observer?.heartbeatSent(provider: name)
            },
            eventLoop: UpstreamExchange.callLoop(in: client.eventLoopGroup))
        var backoff: Duration?
        for attempt in 1...configuration.retry.maxAttempts {
            do {
                try await Self.watched(by: watchdog) { [self, backoff] in
                    if let backoff {
                        activity.beginBackoff()
                        try await Task.sleep(for: backoff)
                    }
                    try await exchange(activity).run(request, model: model, deadline: Self.nioDeadline(), into: sink)
                }
                ProviderEvents.observer?.upstreamAttempt(provider: name, outcome: "ok", code: "OK")
                return
            } catch let failure as UpstreamFailure {
                var metadata: Logger.Metadata = ["provider": "\(name)", "attempt": "\(attempt)", "error": "\(failure.error)"]
                if let trace = TraceContext.current { metadata["traceparent"] = "\(trace.traceparent)" }
                if failure.error.code == .unauthenticated || failure.error.code == .permissionDenied {
                    logger.warning(
                        "provider refused the relay's credentials: a configuration fault, check the provider's api_key_env or api_key_file",
                        metadata: metadata)
                }
                if failure.isStall { ProviderEvents.observer?.upstreamStalled(provider: name) }
                let delay: Duration
                do {
                    delay = try retryDelay(after: failure, attempt: attempt, sink: sink)
                } catch {
                    ProviderEvents.observer?.upstreamAttempt(provider: name, outcome: "failed", code: "\(error.code)")
                    if failure.isStall { logger.warning("upstream stalled", metadata: metadata) }
                    throw error
                }
                ProviderEvents.observer?.upstreamAttempt(provider: name, outcome: "retried", code: "\(failure.error.code)")
                backoff = delay
                metadata["backoff"] = "\(delay)"
                logger.warning(failure.isStall ? "upstream stalled; retrying" : "retrying upstream", metadata: metadata)
            } catch is CancellationError {
                throw TokenwireError.cancelled("the call was cancelled")
            }
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    private func exchange(_ activity: UpstreamActivity) -> UpstreamExchange {
        UpstreamExchange(
            client: client, endpoint: endpoint, keySource: configuration.apiKey, activity: activity,
            logger: logger.logLevel <= .trace ? logger : nil)
    }

    /// How long to wait before the next try, or the error to end the call with.
    private func retryDelay(after failure: UpstreamFailure, attempt: Int, sink: some TokenSink) throws(TokenwireError) -> Duration {
        guard failure.isRetryable, !sink.hasDeliveredContent, !Task.isCancelled else { throw failure.error }
        let tries = attempt == 1 ? "" : " (after \(attempt) tries)"
        guard attempt < configuration.retry.maxAttempts else {
            throw TokenwireError(code: failure.error.code, message: failure.error.message + tries)
        }
        let delay = configuration.retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
        if let deadline = CallDeadline.current, ContinuousClock.now + delay >= deadline {
            let why = failure.retryAfter.map { " the provider asked to wait \($0)" } ?? ""
            throw TokenwireError(
                code: failure.error.code,
                message: failure.error.message + tries + ";\(why) no time is left before the call's deadline to try again")
        }
        return delay
    }

    /// Runs `body` beside the watchdog; whichever ends first ends the other.
    private static func watched(by watchdog: UpstreamWatchdog, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask(operation: body)
            group.addTask { try await watchdog.run() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The call's deadline for AsyncHTTPClient (which otherwise never gives up on a stream).
    private static func nioDeadline() -> NIODeadline {
        guard let deadline = CallDeadline.current else { return .distantFuture }
        let remaining = ContinuousClock.now.duration(to: deadline)
        let nanos = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
        return .now() + .nanoseconds(max(0, nanos))
    }
}
