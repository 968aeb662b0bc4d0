import Synchronization
import TokenwireCore

/// Counts each tenant's running calls against its `max_active_calls` (`--auth-tokens`).
///
/// A call takes its tenant's slot when its handler would start and gives it back when the
/// handler ends; past the limit it is answered RESOURCE_EXHAUSTED instead of starting.
/// Health calls carry no tenant and are never counted.
///
/// - Important: Any thread.
final class TenantCallLimits: Sendable {
    private let active = Mutex<[String: Int]>([:])

    /// Takes one of `tenant`'s slots.
    /// - Throws: RESOURCE_EXHAUSTED when the tenant runs `maxActiveCalls` calls already.
    func take(_ tenant: AuthTokens.Tenant) throws(TokenwireError) {
        let taken = active.withLock { active -> Bool in
            let running = active[tenant.name, default: 0]
            if let limit = tenant.maxActiveCalls, running >= limit { return false }
            active[tenant.name] = running + 1
            return true
        }
        guard taken else {
            throw .resourceExhausted(
                "tenant '\(tenant.name)' is at its limit of \(tenant.maxActiveCalls ?? 0) active calls (max_active_calls in the server's --auth-tokens file); retry when one ends")
        }
    }

    /// Gives back a slot `take` gave.
    func release(_ tenant: String) {
        active.withLock { active in
            let left = active[tenant, default: 1] - 1
            active[tenant] = left > 0 ? left : nil
        }
    }

    /// Calls running now per tenant (for tests and metrics).
    var snapshot: [String: Int] { active.withLock { $0 } }
}
