/// Whether a soak run passed, and the summary that says why.
///
/// It passes when every call ended the way its fault implies (no failure, none still in
/// flight after the grace period, every provider-log check as required), and the server's
/// RSS in every sample after the warm-up stays within the tolerance of its value in the
/// first sample after the warm-up.
struct SoakVerdict {
    let configuration: SoakConfiguration
    let result: SoakRun.Result

    /// The samples after the warm-up, up to the end of the load.
    var steadySamples: [SoakSample] {
        let warmup = configuration.warmupFraction * result.loadSeconds
        return result.samples.filter { $0.elapsed >= warmup && $0.elapsed <= result.loadSeconds + configuration.sampleSeconds / 2 }
    }

    /// Why the run failed; empty when it passed.
    var problems: [String] {
        var problems: [String] = []
        let calls = result.calls
        if calls.failures > 0 { problems.append("\(calls.failures) calls did not end as their fault implies") }
        if calls.inFlight > 0 { problems.append("\(calls.inFlight) calls never ended (still in flight \(Int(configuration.grace)) s after the load)") }
        if calls.upstreamFailures > 0 { problems.append("\(calls.upstreamFailures) provider requests did not end as they must") }
        let steady = steadySamples
        if steady.count < 2 {
            problems.append("only \(steady.count) samples after the warm-up: run longer or sample more often")
        } else {
            let baseline = steady[0].server.residentKiB
            let most = steady.map(\.server.residentKiB).max() ?? baseline
            let limit = Double(baseline) * (1 + configuration.rssTolerance)
            if Double(most) > limit {
                problems.append(
                    "server RSS grew from \(SoakSample.mebibytes(baseline)) to \(SoakSample.mebibytes(most)) after the warm-up "
                        + "(\(Self.percent(most, of: baseline)), limit +\(Int(configuration.rssTolerance * 100))%)")
            }
        }
        return problems
    }

    /// The summary lines.
    var summary: [String] {
        let calls = result.calls
        let ended = SoakCall.Kind.allCases.map { "\($0.rawValue) \(calls.ended[$0, default: 0])" }.joined(separator: ", ")
        var lines = [
            "soak summary: \(Int(result.loadSeconds)) s of load, \(configuration.streams) streams over \(configuration.connections) "
                + "connections, \(configuration.rate) tokens/s, \(configuration.mix.minTokens)-\(configuration.mix.maxTokens) tokens per call, "
                + "a connection reset every \(Int(configuration.resetSeconds)) s",
            "  calls: started \(calls.started), ended as their fault implies \(calls.endedTotal - calls.failures) (\(ended)), "
                + "failed \(calls.failures), never ended \(calls.inFlight); tokens \(calls.tokens)",
            "  provider log checks after cancels and resets: \(calls.upstreamChecks), \(calls.upstreamFailures) failed; "
                + "cancels that came after the call was over \(calls.cancelAfterCall), after the provider's response was over "
                + "\(calls.cancelAfterUpstream)",
        ]
        let steady = steadySamples
        if let first = steady.first {
            let rss = steady.map(\.server.residentKiB)
            let fds = steady.map(\.server.openFiles)
            let threads = steady.map(\.server.threads)
            lines.append(
                "  server after the warm-up (\(steady.count) samples from \(Int(first.elapsed)) s): rss \(SoakSample.mebibytes(rss[0])) "
                    + "→ max \(SoakSample.mebibytes(rss.max()!)) (\(Self.percent(rss.max()!, of: rss[0]))), min \(SoakSample.mebibytes(rss.min()!)), "
                    + "last \(SoakSample.mebibytes(rss.last!)); fds \(fds.min()!)-\(fds.max()!); threads \(threads.min()!)-\(threads.max()!)")
        }
        lines.append(
            "  server idle before the load: rss \(SoakSample.mebibytes(result.before.residentKiB)), fds \(result.before.openFiles), "
                + "threads \(result.before.threads); after every call ended: rss \(SoakSample.mebibytes(result.after.residentKiB)), "
                + "fds \(result.after.openFiles), threads \(result.after.threads)")
        for sample in calls.failureSamples { lines.append("  failure: \(sample)") }
        let problems = problems
        lines.append(problems.isEmpty ? "soak: PASS" : "soak: FAIL: " + problems.joined(separator: "; "))
        return lines
    }

    private static func percent(_ value: Int, of base: Int) -> String {
        let change = (Double(value) / Double(max(1, base)) - 1) * 100
        return (change >= 0 ? "+" : "") + String(Int(change.rounded())) + "%"
    }
}
