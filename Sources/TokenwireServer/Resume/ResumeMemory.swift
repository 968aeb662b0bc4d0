import Synchronization

/// Bytes of frames held by every resumable stream of a server, against
/// `ResumeConfiguration.maxTotalBytes`.
final class ResumeMemory: Sendable {
    let limit: Int
    private let total = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    var bytes: Int { total.load(ordering: .relaxed) }

    /// Bytes over the limit (negative: room left).
    var excess: Int { bytes - limit }

    /// Adds (or, negative, takes away) held bytes.
    func add(_ delta: Int) {
        if delta != 0 { total.add(delta, ordering: .relaxed) }
    }
}
