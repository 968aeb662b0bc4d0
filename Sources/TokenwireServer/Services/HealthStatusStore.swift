import Synchronization
public import TokenwireCore

/// The serving status of each service (`grpc.health.v1`), with watchers that hear every
/// change. The empty name stands for the whole server.
public final class HealthStatusStore: Sendable {
    private struct State {
        var statuses: [String: ServingStatus] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    public init(services: [String]) {
        state.withLock { state in
            for service in services + [""] { state.statuses[service] = .serving }
        }
    }

    /// The status of `service`, or nil if it is not registered.
    public func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Sets every registered service's status (drain sets NOT_SERVING).
    public func setAll(_ status: ServingStatus) {
        let watchers = state.withLock { state in
            for key in state.statuses.keys { state.statuses[key] = status }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.continuation.yield(status) }
    }

    /// Ends every watch (at shutdown, after the final status was sent).
    public func finishWatchers() {
        let watchers = state.withLock { state in
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.continuation.finish() }
    }

    /// The current status of `service` (SERVICE_UNKNOWN if unregistered), then each change.
    public func watch(_ service: String) -> AsyncStream<ServingStatus> {
        let (stream, continuation) = AsyncStream<ServingStatus>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (service, continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
