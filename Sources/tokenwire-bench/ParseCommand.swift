import ArgumentParser
import Foundation
import TokenwireUpstream

/// `tokenwire-bench parse`: upstream parse throughput per dialect, on the calling thread,
/// against a `JSONSerialization` baseline timed in the same invocation.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Events/s of SSEParser/NDJSONSplitter + each dialect, vs. a JSONSerialization baseline.",
        discussion: """
            Each dialect gets a synthetic response in its exact wire shape (templates from the \
            recorded fixtures), fed on one thread in the given read sizes. The baseline splits \
            the same reads at LF and runs JSONSerialization.jsonObject on each data payload. \
            Every timed pass is checked: event, text-event, text-byte and finish counts must \
            match the workload. Pin it to a core (taskset -c 1) for stable numbers.
            """)

    @Option(help: "Dialects to measure, comma-separated (default: all 7).")
    var dialects = UpstreamDialectKind.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Read modes, comma-separated: 'event' (one event per read) or a size such as 16k or 1448.")
    var reads = "event,16k"

    @Option(help: "Text tokens per synthetic response.")
    var tokens = 256

    @Option(help: "Events parsed per timed pass (rounded up to whole responses).")
    var events = 40_000

    @Option(help: "Timed passes per measurement; the median is reported.")
    var reps = 5

    @Flag(help: "Also print the results as JSON (one object per line).")
    var json = false

    func validate() throws {
        guard tokens > 0, events > 0, reps > 0 else { throw ValidationError("--tokens, --events and --reps must be above 0") }
        _ = try kinds()
        _ = try readModes()
    }

    func run() throws {
        let plan = try ParsePlan(kinds: kinds(), readModes: readModes(), tokens: tokens, events: events, reps: reps)
        print(plan.header)
        let measurements: [ParseMeasurement]
        do {
            measurements = try plan.measure()
        } catch {
            print("FAILED: \(error)")
            throw ExitCode(1)
        }
        print(ParseTable(measurements).markdown)
        if json {
            for measurement in measurements { print(measurement.json.serialized) }
        }
    }

    private func kinds() throws -> [UpstreamDialectKind] {
        try dialects.split(separator: ",").map { name in
            guard let kind = UpstreamDialectKind(rawValue: String(name)) else {
                throw ValidationError("unknown dialect '\(name)'; known: \(UpstreamDialectKind.allCases.map(\.rawValue))")
            }
            return kind
        }
    }

    private func readModes() throws -> [ReadMode] {
        try reads.split(separator: ",").map { argument in
            guard let mode = ReadMode(argument: String(argument)) else {
                throw ValidationError("bad read mode '\(argument)': use 'event' or a byte count such as 16k")
            }
            return mode
        }
    }
}
