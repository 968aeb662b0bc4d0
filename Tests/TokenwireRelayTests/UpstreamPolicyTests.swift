import NIOPosix
import NIOHTTP1
import Testing
import TokenwireCore
@testable import TokenwireRelay

/// Retry timing, the watchdog's rule, HTTP status mapping and error-body reading.
@Suite("Upstream policies")
struct UpstreamPolicyTests {
    @Test func backoffDoublesWithJitterUpToItsCap() {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(300))
        for _ in 0..<50 {
            let first = policy.delay(afterAttempt: 1, retryAfter: nil)
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            let second = policy.delay(afterAttempt: 2, retryAfter: nil)
            #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
            #expect(policy.delay(afterAttempt: 9, retryAfter: nil) <= .milliseconds(300))
        }
    }

    @Test func retryAfterWinsWhenLonger() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(100))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .milliseconds(1)) >= .milliseconds(50))
    }

    @Test func retryAfterHeaderForms() {
        #expect(UpstreamHTTPStatus.retryAfter(in: HTTPHeaders([("retry-after", "2")])) == .seconds(2))
        #expect(UpstreamHTTPStatus.retryAfter(in: HTTPHeaders([("retry-after", "0.25")])) == .milliseconds(250))
        #expect(UpstreamHTTPStatus.retryAfter(in: HTTPHeaders([("retry-after-ms", "40"), ("retry-after", "9")])) == .milliseconds(40))
        #expect(UpstreamHTTPStatus.retryAfter(in: HTTPHeaders([("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])) == .zero)
        #expect(UpstreamHTTPStatus.retryAfter(in: HTTPHeaders()) == nil)
    }

    @Test func statusTableAndTheProvidersMessage() {
        func failure(_ status: Int, _ body: String) -> UpstreamFailure {
            UpstreamHTTPStatus.failure(status: status, headers: HTTPHeaders(), body: body, provider: "p", keySource: .environment("P_KEY"))
        }
        let openai = failure(429, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)
        #expect(openai.error == .resourceExhausted("provider 'p' answered HTTP 429: Rate limit reached"))
        #expect(openai.isRetryable)
        let anthropic = failure(529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
        #expect(anthropic.error.code == .unavailable && anthropic.error.message.hasSuffix("Overloaded"))
        let auth = failure(401, #"{"message":"invalid api token"}"#)
        #expect(auth.error.code == .unauthenticated && !auth.isRetryable)
        #expect(auth.error.message.contains("invalid api token") && auth.error.message.contains("the environment variable P_KEY"))
        #expect(failure(400, #"{"error":"bad","error_type":"validation"}"#).error == .invalidArgument("provider 'p' answered HTTP 400: bad"))
        #expect(failure(409, #"{"error":{"type":"rate_limit_error","message":"m"}}"#).error.code == .resourceExhausted)
        #expect(failure(502, "<html>Bad gateway</html>").error.message.hasSuffix("<html>Bad gateway</html>"))
        #expect(!failure(404, "{}").isRetryable)
        let keyless = UpstreamHTTPStatus.failure(status: 401, headers: HTTPHeaders(), body: "{}", provider: "p", keySource: .none)
        #expect(keyless.error.message.contains("the provider has no api_key_env or api_key_file"), "\(keyless.error.message)")
    }

    @Test func watchdogBeatsWhileTheUpstreamIsSilentAndStallsPastItsTimeout() {
        let start = ContinuousClock.now
        let timeouts = UpstreamTimeouts(stall: .seconds(10), firstHeartbeat: .seconds(1), heartbeatInterval: .seconds(3))
        let watchdog = UpstreamWatchdog(provider: "p", timeouts: timeouts, activity: UpstreamActivity(start: start), heartbeat: {}, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        var state = UpstreamActivity.State(phase: .waitingForUpstream(since: start), lastFrameToClient: start)
        #expect(watchdog.decide(at: start + .milliseconds(500), state: state) == .sleep(until: start + .seconds(1)))
        #expect(watchdog.decide(at: start + .seconds(1), state: state) == .heartbeat)
        state.lastFrameToClient = start + .seconds(1)
        state.clientHasFrames = true
        #expect(watchdog.decide(at: start + .seconds(2), state: state) == .sleep(until: start + .seconds(4)))
        #expect(watchdog.decide(at: start + .seconds(10), state: state) == .stalled(silentFor: .seconds(10)))
        state.phase = .delivering
        if case .stalled = watchdog.decide(at: start + .seconds(60), state: state) {
            Issue.record("a slow client is not a stalled upstream")
        }
        state.phase = .backingOff
        #expect(watchdog.decide(at: start + .seconds(60), state: state) == .heartbeat, "backoff never stalls, but beats")
    }
}
