import Synchronization

/// What one call is doing right now, as far as its watchdog cares: waiting for the
/// upstream (since when), backing off before a retry, or busy delivering to the client.
///
/// The relay task updates it around every upstream read; the watchdog task reads it. Two
/// uncontended lock round trips per read.
final class UpstreamActivity: Sendable {
    enum Phase: Sendable {
        /// Delivering frames to the client, which may be slow: not the upstream's fault.
        case delivering
        /// Waiting for the upstream's response or its next bytes.
        case waitingForUpstream(since: ContinuousClock.Instant)
        /// Sleeping before a retry.
        case backingOff
    }

    struct State: Sendable {
        var phase: Phase = .delivering
        /// When the client last got a frame (or the call started).
        var lastFrameToClient: ContinuousClock.Instant
        /// Whether the client has had any frame yet.
        var clientHasFrames = false
    }

    private let state: Mutex<State>

    init(start: ContinuousClock.Instant = .now) {
        state = Mutex(State(lastFrameToClient: start))
    }

    var snapshot: State { state.withLock { $0 } }

    /// The relay is about to wait for the upstream.
    func beginWaiting() {
        let now = ContinuousClock.now
        state.withLock { $0.phase = .waitingForUpstream(since: now) }
    }

    /// Bytes arrived; `delivered` says whether they made frames for the client.
    func upstreamSpoke(delivered: Bool) {
        let now = delivered ? ContinuousClock.now : nil
        state.withLock { state in
            state.phase = .delivering
            if let now {
                state.lastFrameToClient = now
                state.clientHasFrames = true
            }
        }
    }

    /// The relay is sleeping before another try.
    func beginBackoff() {
        state.withLock { $0.phase = .backingOff }
    }

    /// The watchdog sent the client a heartbeat.
    func heartbeatSent(at now: ContinuousClock.Instant) {
        state.withLock { state in
            state.lastFrameToClient = now
            state.clientHasFrames = true
        }
    }
}
