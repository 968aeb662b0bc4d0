import NIOCore
import TokenwireCore

/// Watches one call's upstream: sends the client Heartbeat frames while the upstream is
/// silent, and gives up on an upstream silent past its stall timeout.
struct UpstreamWatchdog: Sendable {
    let provider: String
    let timeouts: UpstreamTimeouts
    let activity: UpstreamActivity
    let heartbeat: @Sendable () -> Void
    /// Where it sleeps between looks: the call's loop (`EventLoopSleep`).
    let eventLoop: any EventLoop

    /// What to do at a moment, given the activity.
    enum Decision: Equatable {
        case sleep(until: ContinuousClock.Instant)
        case heartbeat
        case stalled(silentFor: Duration)
    }

    /// Runs until cancelled, or throws when the upstream stalls.
    /// - Throws: `UpstreamFailure` with UNAVAILABLE naming the provider and the silence.
    func run() async throws {
        while true {
            let now = ContinuousClock.now
            switch decide(at: now, state: activity.snapshot) {
            case .sleep(let wake):
                let nanoseconds = now.duration(to: wake).components
                let amount = TimeAmount.nanoseconds(nanoseconds.seconds * 1_000_000_000 + nanoseconds.attoseconds / 1_000_000_000)
                try await EventLoopSleep.sleep(until: .now() + amount, on: eventLoop)
            case .heartbeat:
                heartbeat()
                activity.heartbeatSent(at: now)
            case .stalled(let silence):
                throw UpstreamFailure(
                    .unavailable(
                        "provider '\(provider)' sent nothing for \(Self.seconds(silence)) (stall timeout \(Self.seconds(timeouts.stall))); try again or raise stall_timeout_ms"),
                    isRetryable: true, isStall: true)
            }
        }
    }

    /// The watchdog's rule, separate from the clock for tests.
    func decide(at now: ContinuousClock.Instant, state: UpstreamActivity.State) -> Decision {
        let beatEvery = state.clientHasFrames ? timeouts.heartbeatInterval : timeouts.firstHeartbeat
        let beatAt = state.lastFrameToClient + beatEvery
        switch state.phase {
        case .delivering:
            // The client is being served; look again after a heartbeat's worth of time.
            return .sleep(until: now + min(timeouts.firstHeartbeat, timeouts.heartbeatInterval))
        case .backingOff:
            return now >= beatAt ? .heartbeat : .sleep(until: beatAt)
        case .waitingForUpstream(let since):
            let stallAt = since + timeouts.stall
            if now >= stallAt { return .stalled(silentFor: now - since) }
            if now >= beatAt { return .heartbeat }
            return .sleep(until: min(beatAt, stallAt))
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value < 10 ? "\((value * 1000).rounded() / 1000) s" : "\(Int(value.rounded())) s"
    }
}
