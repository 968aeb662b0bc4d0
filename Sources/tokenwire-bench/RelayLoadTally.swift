import TokenwireCore

/// One worker's samples and counts; workers' tallies are merged once they end, so the hot
/// path takes no lock.
struct RelayLoadTally: Sendable {
    /// Per-token latency (receive − stamp), nanoseconds, stamped tokens only.
    var latencies: [Int64] = []
    /// Request sent → first text frame, nanoseconds, per request that got one.
    var timesToFirstToken: [Int64] = []
    var started = 0
    var ok = 0
    var tokens = 0
    var stampedTokens = 0
    var unstampedTokens = 0
    var textFrames = 0
    var usageSeen = 0
    var errors: [String: Int] = [:]
    var errorExamples: [String: String] = [:]
    /// When the last token was received (0: none yet).
    var lastTokenTime: Int64 = 0

    /// Counts an error of `kind`, keeping the first example of each kind.
    mutating func error(_ kind: String, _ detail: String = "") {
        errors[kind, default: 0] += 1
        if !detail.isEmpty, errorExamples[kind] == nil { errorExamples[kind] = String(detail.prefix(300)) }
    }

    /// Adds another worker's tally.
    mutating func merge(_ other: RelayLoadTally) {
        latencies += other.latencies
        timesToFirstToken += other.timesToFirstToken
        started += other.started
        ok += other.ok
        tokens += other.tokens
        stampedTokens += other.stampedTokens
        unstampedTokens += other.unstampedTokens
        textFrames += other.textFrames
        usageSeen += other.usageSeen
        errors.merge(other.errors, uniquingKeysWith: +)
        errorExamples.merge(other.errorExamples) { first, _ in first }
        lastTokenTime = max(lastTokenTime, other.lastTokenTime)
    }
}
