import Foundation

/// A wait that took longer than its bound.
public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` if it takes longer than `seconds` (a bound for a
/// hung test, never a performance assertion). The result races the clock, so even a body
/// stuck in a non-cancellable wait cannot hang the suite. Shared by every test target.
public func withTimeout<R: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> R) async throws -> R {
    let race = Race<R>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        let work = Task { race.finish(with: await Result(catching: body)) }
        Task {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            if race.finish(with: .failure(TimedOut(what: what))) { work.cancel() }
        }
    }
}

/// The first of two outcomes wins; the other is dropped.
private final class Race<R: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<R, any Error>?

    func start(_ continuation: CheckedContinuation<R, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    /// Returns true if this outcome won.
    @discardableResult
    func finish(with result: Result<R, any Error>) -> Bool {
        let continuation = lock.withLock { () -> CheckedContinuation<R, any Error>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(with: result)
        return continuation != nil
    }
}

extension Result where Failure == any Error {
    public init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
