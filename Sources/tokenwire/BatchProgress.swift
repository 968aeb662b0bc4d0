#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// The live progress line of `tokenwire batch` on stderr (items done, tokens/s, failures),
/// redrawn in place at most ten times a second, and its final summary.
///
/// Draws only when stderr is a terminal; the summary is always written.
struct BatchProgress {
    let total: Int
    let skipped: Int
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant
    private let live: Bool
    private(set) var succeeded = 0
    private(set) var failed = 0
    private(set) var tokens = 0

    /// - Parameters:
    ///   - total: items in the input.
    ///   - skipped: items already in the output file.
    init(total: Int, skipped: Int, live: Bool = isatty(STDERR_FILENO) != 0) {
        self.total = total
        self.skipped = skipped
        self.live = live
        started = clock.now
        lastDrawn = started
    }

    mutating func countToken() {
        tokens += 1
        if tokens & 63 == 0 { drawIfDue() }
    }

    mutating func itemEnded(succeeded: Bool) {
        if succeeded { self.succeeded += 1 } else { failed += 1 }
        drawIfDue()
    }

    private mutating func drawIfDue() {
        guard live else { return }
        let now = clock.now
        guard now - lastDrawn >= .milliseconds(100) else { return }
        lastDrawn = now
        fputs("\r\u{1B}[K" + line(at: now), stderr)
        fflush(stderr)
    }

    private func line(at now: ContinuousClock.Instant) -> String {
        let done = skipped + succeeded + failed
        let width = 24
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "[\(bar)] \(done)/\(total) items  \(Int(rate(tokens, now))) tokens/s  \(failed) failed  \(Self.seconds(now - started))"
    }

    /// Clears the live line and writes the summary, with the call's status.
    func finish(status: String) {
        let now = clock.now
        if live { fputs("\r\u{1B}[K", stderr) }
        let items = succeeded + failed
        fputs(
            "batch: \(items) items (\(succeeded) ok, \(failed) failed, \(skipped) already done) of \(total) in "
                + "\(Self.seconds(now - started)): \(Int(rate(items, now))) items/s, \(Int(rate(tokens, now))) tokens/s, "
                + "\(tokens) tokens, status=\(status)\n", stderr)
    }

    private func rate(_ count: Int, _ now: ContinuousClock.Instant) -> Double {
        let elapsed = now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(count) / seconds : 0
    }

    private static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return "\((seconds * 10).rounded() / 10)s"
    }
}
