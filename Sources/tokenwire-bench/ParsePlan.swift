import TokenwireUpstream

/// The workloads of one `parse` invocation and the loop that times them.
struct ParsePlan {
    private struct Workload {
        var stream: SyntheticStream
        var mode: ReadMode
        var reads: [ArraySlice<UInt8>]
        var responses: Int
    }

    private let workloads: [Workload]
    private let reps: Int

    init(kinds: [UpstreamDialectKind], readModes: [ReadMode], tokens: Int, events: Int, reps: Int) {
        var workloads: [Workload] = []
        for kind in kinds {
            let stream = SyntheticStream.make(kind, tokens: tokens)
            let responses = (events + stream.eventCount - 1) / stream.eventCount
            for mode in readModes {
                workloads.append(Workload(stream: stream, mode: mode, reads: stream.reads(mode), responses: responses))
            }
        }
        self.workloads = workloads
        self.reps = reps
    }

    /// What will be measured, for the top of the output.
    var header: String {
        let first = workloads.first
        return "parse: \(workloads.count) workloads, \(reps) reps each (median), "
            + "\(first.map { "\($0.responses) responses × \($0.stream.eventCount) events" } ?? "nothing") per pass "
            + "for \(first?.stream.kind.rawValue ?? "-"); dialect, baseline and framing-only passes alternate within each rep"
    }

    /// Times every workload `reps` times, dialect and baseline in turn, checking each pass.
    /// - Throws: `BenchError` if any pass counts something other than its workload.
    func measure() throws(BenchError) -> [ParseMeasurement] {
        for workload in workloads {  // warm-up: caches, lazy initialisation, page faults
            try timeDialect(workload, responses: 1)
            try timeBaseline(workload, responses: 1)
            try timeFraming(workload, responses: 1)
        }
        var dialectTimes = Array(repeating: [Int64](), count: workloads.count)
        var baselineTimes = dialectTimes
        var framingTimes = dialectTimes
        for _ in 0..<reps {
            for (index, workload) in workloads.enumerated() {
                dialectTimes[index].append(try timeDialect(workload, responses: workload.responses))
                baselineTimes[index].append(try timeBaseline(workload, responses: workload.responses))
                framingTimes[index].append(try timeFraming(workload, responses: workload.responses))
            }
        }
        return workloads.indices.map { index in
            let workload = workloads[index]
            return ParseMeasurement(
                kind: workload.stream.kind, readMode: workload.mode,
                eventsPerPass: workload.stream.eventCount * workload.responses,
                bytesPerPass: workload.stream.body.count * workload.responses,
                textEventsPerPass: workload.stream.textEventCount * workload.responses,
                reads: workload.reads.count * workload.responses,
                dialectNanoseconds: ParseMeasurement.median(dialectTimes[index]),
                baselineNanoseconds: ParseMeasurement.median(baselineTimes[index]),
                framingNanoseconds: ParseMeasurement.median(framingTimes[index]))
        }
    }

    @discardableResult
    private func timeDialect(_ workload: Workload, responses: Int) throws(BenchError) -> Int64 {
        let start = MonotonicClock.now()
        let tally = try DialectParsePass.run(workload.stream.kind, reads: workload.reads, responses: responses)
        let elapsed = MonotonicClock.now() - start
        try tally.verifyDialect(workload.stream, responses: responses)
        return elapsed
    }

    @discardableResult
    private func timeFraming(_ workload: Workload, responses: Int) throws(BenchError) -> Int64 {
        let framing = workload.stream.kind.dialectType.framing
        let start = MonotonicClock.now()
        let tally = FramingParsePass.run(framing: framing, reads: workload.reads, responses: responses)
        let elapsed = MonotonicClock.now() - start
        try tally.verifyFraming(workload.stream, responses: responses)
        return elapsed
    }

    @discardableResult
    private func timeBaseline(_ workload: Workload, responses: Int) throws(BenchError) -> Int64 {
        let ndjson = workload.stream.kind.dialectType.framing == .newlineDelimitedJSON
        let start = MonotonicClock.now()
        let tally = BaselineParsePass.run(reads: workload.reads, ndjson: ndjson, responses: responses)
        let elapsed = MonotonicClock.now() - start
        try tally.verifyBaseline(workload.stream, responses: responses)
        return elapsed
    }
}
