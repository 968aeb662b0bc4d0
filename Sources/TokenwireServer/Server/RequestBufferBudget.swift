import Synchronization
import TokenwireCore

/// Counts the bytes of requests still arriving, server-wide, so that a flood of unfinished
/// requests cannot take the server's memory.
///
/// Every connection's `RequestBufferAccount` reserves here before a call keeps bytes.
final class RequestBufferBudget: Sendable {
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now, over all connections.
    var heldBytes: Int { held.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit under the limit.
    func reserve(_ bytes: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (done, actual) = held.weakCompareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if done { return true }
            current = actual
        }
    }

    func release(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }
}

/// One connection's share of the request bytes it makes the server hold, under its own
/// limit and the server's.
///
/// - Important: Event-loop only (owned by the connection's `GRPCServerConnection`).
final class RequestBufferAccount {
    private let budget: RequestBufferBudget
    private let limit: Int
    private(set) var heldBytes = 0

    init(budget: RequestBufferBudget, limit: Int) {
        self.budget = budget
        self.limit = limit
    }

    /// Takes `bytes` for a call's request, or says which limit they would pass.
    func reserve(_ bytes: Int) -> TokenwireError? {
        if heldBytes + bytes > limit {
            return .resourceExhausted(
                "this connection's unfinished requests would hold more than \(limit) bytes "
                    + "(the server's --max-connection-request-bytes): send fewer large requests at once")
        }
        guard budget.reserve(bytes) else {
            return .resourceExhausted(
                "the server holds \(budget.limit) bytes of unfinished requests from all clients "
                    + "(--max-request-bytes): try again shortly")
        }
        heldBytes += bytes
        return nil
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        heldBytes -= bytes
        budget.release(bytes)
    }
}
