public import NIOCore
import Synchronization

/// A Redis client that keeps one pipelined connection and makes a new one when it is
/// lost, with exponential backoff between failed attempts.
///
/// A command sent while the server is unreachable fails at once (`cannotConnect`, naming
/// when the next attempt will be) instead of waiting: callers on a hot path (the resume
/// store's mirror) must never wait on Redis, and decide themselves what a failure means.
/// Commands in flight when a connection is lost fail with `connectionLost`; the next
/// command reconnects.
public final class RedisClient: Sendable {
    /// Delays between failed connection attempts: `initial`, doubling up to `maximum`.
    public struct Backoff: Sendable {
        public var initial: Duration = .milliseconds(100)
        public var maximum: Duration = .seconds(5)

        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
            self.initial = initial
            self.maximum = maximum
        }
    }

    private enum Link {
        case idle
        /// A connection attempt that every caller arriving meanwhile waits for.
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        /// The last attempt failed; none is made before `retryAt`.
        case backingOff(retryAt: ContinuousClock.Instant, reason: String)
        case shutDown
    }

    private struct State {
        var link: Link = .idle
        /// The delay after the next failure.
        var delay: Duration
    }

    public let address: RedisAddress
    private let group: (any EventLoopGroup)?
    private let backoff: Backoff
    private let connectTimeout: Duration
    /// The link and the backoff delay: read and changed by any task that sends, only
    /// inside the lock and never across an `await` (the connection attempt is awaited
    /// outside it, through the `Task` the lock hands out).
    private let state: Mutex<State>

    public init(
        address: RedisAddress, group: (any EventLoopGroup)? = nil, backoff: Backoff = .init(),
        connectTimeout: Duration = .seconds(5)
    ) {
        self.address = address
        self.group = group
        self.backoff = backoff
        self.connectTimeout = connectTimeout
        self.state = Mutex(State(delay: backoff.initial))
    }

    /// Sends one command on the current connection (connecting first if there is none).
    /// - Throws: `RedisError`.
    public func send(_ command: RESPCommand, timeout: Duration = .seconds(5)) async throws -> RESPValue {
        try await connection().send(command, timeout: timeout)
    }

    /// Sends `commands` in one write and returns each one's answer, in order.
    /// - Throws: `RedisError.cannotConnect` when there is no connection to send them on.
    public func pipeline(_ commands: [RESPCommand], timeout: Duration = .seconds(5)) async throws -> [Result<RESPValue, RedisError>] {
        try await connection().pipeline(commands, timeout: timeout)
    }

    /// Closes the connection; later commands fail.
    public func shutdown() {
        let link = state.withLock { state in
            defer { state.link = .shutDown }
            return state.link
        }
        switch link {
        case .connected(let connection): connection.close()
        case .connecting(let attempt): attempt.cancel()
        case .idle, .backingOff, .shutDown: break
        }
    }

    /// Why a connection attempt failed, without repeating the address.
    private static func reason(_ error: any Error) -> String {
        if case .cannotConnect(_, let reason)? = error as? RedisError { return reason }
        return "\(error)"
    }

    private enum Next {
        case use(RedisConnection)
        case wait(Task<RedisConnection, any Error>)
        case fail(RedisError)
    }

    /// The open connection, or a new one.
    private func connection() async throws -> RedisConnection {
        let next = state.withLock { state -> Next in
            switch state.link {
            case .connected(let connection) where connection.isActive:
                return .use(connection)
            case .connecting(let attempt):
                return .wait(attempt)
            case .backingOff(let retryAt, let reason) where ContinuousClock.now < retryAt:
                let wait = retryAt - ContinuousClock.now
                return .fail(.cannotConnect(
                    address: address.description,
                    reason: "\(reason) (the next attempt is in \(Int((wait / .milliseconds(1)).rounded(.up))) ms)"))
            case .shutDown:
                return .fail(.cannotConnect(address: address.description, reason: "the client was shut down"))
            case .idle, .connected, .backingOff:
                let (address, group, connectTimeout) = (self.address, self.group, self.connectTimeout)
                let attempt = Task {
                    try await RedisConnection.connect(to: address, on: group, connectTimeout: connectTimeout)
                }
                state.link = .connecting(attempt)
                return .wait(attempt)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .fail(let error):
            throw error
        case .wait(let attempt):
            let result = await attempt.result
            return try state.withLock { state throws -> RedisConnection in
                switch result {
                case .success(let connection):
                    if case .shutDown = state.link {
                        connection.close()
                        throw RedisError.cannotConnect(address: address.description, reason: "the client was shut down")
                    }
                    state.link = .connected(connection)
                    state.delay = backoff.initial
                    return connection
                case .failure(let error):
                    let reason = Self.reason(error)
                    if case .connecting = state.link {
                        state.link = .backingOff(retryAt: .now + state.delay, reason: reason)
                        state.delay = min(state.delay * 2, backoff.maximum)
                    }
                    throw RedisError.cannotConnect(address: address.description, reason: reason)
                }
            }
        }
    }
}
