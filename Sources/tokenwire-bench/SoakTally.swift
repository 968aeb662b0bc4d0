import Synchronization

/// The soak's counters, shared by every worker: calls started, calls that ended as their
/// fault implies (by kind), and calls that did not (with the first few reasons).
final class SoakTally: Sendable {
    struct Snapshot: Sendable {
        var started = 0
        var ended: [SoakCall.Kind: Int] = [:]
        var failures = 0
        var failureSamples: [String] = []
        var tokens = 0
        /// Provider log entries checked after a cancel or a connection reset.
        var upstreamChecks = 0
        /// Checks that found the provider's request not ended as it must be.
        var upstreamFailures = 0
        /// Cancels that came after the call (`cancelAfterCall`) or its provider response
        /// (`cancelAfterUpstream`) was over: the client read behind the stream.
        var cancelAfterCall = 0
        var cancelAfterUpstream = 0

        var endedTotal: Int { ended.values.reduce(0, +) + failures }
        var inFlight: Int { started - endedTotal }
    }

    private let state = Mutex(Snapshot())
    private static let keptFailures = 20

    var snapshot: Snapshot { state.withLock { $0 } }

    func started() {
        state.withLock { $0.started += 1 }
    }

    /// A call ended the way its kind says it must.
    func ended(_ kind: SoakCall.Kind, tokens: Int) {
        state.withLock {
            $0.ended[kind, default: 0] += 1
            $0.tokens += tokens
        }
    }

    /// A call ended some other way.
    func failed(_ reason: String, tokens: Int) {
        state.withLock {
            $0.failures += 1
            $0.tokens += tokens
            if $0.failureSamples.count < Self.keptFailures { $0.failureSamples.append(reason) }
        }
    }

    /// A provider log check found the upstream request not ended as it must be.
    func upstreamFailed(_ reason: String) {
        state.withLock {
            $0.upstreamFailures += 1
            if $0.failureSamples.count < Self.keptFailures { $0.failureSamples.append(reason) }
        }
    }

    func cancelCameLate(afterCall: Bool) {
        state.withLock { if afterCall { $0.cancelAfterCall += 1 } else { $0.cancelAfterUpstream += 1 } }
    }

    func upstreamChecked() {
        state.withLock { $0.upstreamChecks += 1 }
    }
}
