import Foundation

/// One progress sample: the calls so far and the server process.
struct SoakSample: Sendable {
    var elapsed: Double
    var calls: SoakTally.Snapshot
    var server: ProcessSample
    var fakeProviderKiB: Int?

    /// The progress line printed for the sample.
    var line: String {
        let ended = SoakCall.Kind.allCases.map { "\($0.rawValue) \(calls.ended[$0, default: 0])" }.joined(separator: ", ")
        let fake = fakeProviderKiB.map { " | fake provider rss \(Self.mebibytes($0))" } ?? ""
        return "soak \(Int(elapsed.rounded()))s | calls started \(calls.started), in flight \(calls.inFlight), "
            + "ended \(calls.endedTotal) (\(ended)), failed \(calls.failures), upstream checks \(calls.upstreamChecks) "
            + "(\(calls.upstreamFailures) failed) | server rss \(Self.mebibytes(server.residentKiB)), fds \(server.openFiles), "
            + "threads \(server.threads)\(fake)"
    }

    static func mebibytes(_ kib: Int) -> String {
        String(format: "%.1f MiB", Double(kib) / 1024)
    }
}
