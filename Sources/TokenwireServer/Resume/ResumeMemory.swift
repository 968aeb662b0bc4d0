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

    /// Of `bytes`, those held by ended streams (the registry drops those first).
    private let ended = Atomic<Int>(0)

    /// Adds (or, negative, takes away) bytes held by ended streams, already in `bytes`.
    func addEnded(_ delta: Int) {
        if delta != 0 { ended.add(delta, ordering: .relaxed) }
    }

    /// Bytes over the limit that dropping every ended stream would not free: only then
    /// does a running stream give up its own oldest frames. (At the limit, the steady
    /// state of a busy server, the registry drops the oldest ended streams as new ones
    /// start; running streams are not touched.)
    var runningExcess: Int { excess - ended.load(ordering: .relaxed) }
}
