import TokenwireUpstream

/// The median timings of one dialect and read mode, Tokenwire's path against the baseline.
struct ParseMeasurement {
    var kind: UpstreamDialectKind
    var readMode: ReadMode
    /// Events (and bytes) in one timed pass.
    var eventsPerPass: Int
    var bytesPerPass: Int
    var textEventsPerPass: Int
    var reads: Int
    /// Median nanoseconds of a timed pass.
    var dialectNanoseconds: Int64
    var baselineNanoseconds: Int64
    /// Median nanoseconds of the SSE parser (or NDJSON splitter) alone.
    var framingNanoseconds: Int64

    var dialectEventsPerSecond: Double { Self.rate(eventsPerPass, dialectNanoseconds) }
    var baselineEventsPerSecond: Double { Self.rate(eventsPerPass, baselineNanoseconds) }
    var dialectMegabytesPerSecond: Double { Self.rate(bytesPerPass, dialectNanoseconds) / 1e6 }
    var baselineMegabytesPerSecond: Double { Self.rate(bytesPerPass, baselineNanoseconds) / 1e6 }
    var dialectNanosecondsPerEvent: Double { Double(dialectNanoseconds) / Double(eventsPerPass) }
    var baselineNanosecondsPerEvent: Double { Double(baselineNanoseconds) / Double(eventsPerPass) }
    var framingNanosecondsPerEvent: Double { Double(framingNanoseconds) / Double(eventsPerPass) }
    /// Tokenwire's throughput as a multiple of the baseline's (above 1: faster).
    var ratio: Double { Double(baselineNanoseconds) / Double(dialectNanoseconds) }

    private static func rate(_ count: Int, _ nanoseconds: Int64) -> Double {
        Double(count) * 1e9 / Double(max(nanoseconds, 1))
    }

    /// The median of timings (the upper middle one for an even count).
    static func median(_ timings: [Int64]) -> Int64 {
        timings.sorted()[timings.count / 2]
    }

    var json: BenchJSON {
        .object([
            ("dialect", .string(kind.rawValue)), ("reads", .string(readMode.description)),
            ("events_per_pass", .int(eventsPerPass)), ("bytes_per_pass", .int(bytesPerPass)),
            ("text_events_per_pass", .int(textEventsPerPass)), ("reads_per_pass", .int(reads)),
            ("tokenwire_events_per_s", .number(dialectEventsPerSecond.rounded())),
            ("tokenwire_mb_per_s", .number((dialectMegabytesPerSecond * 10).rounded() / 10)),
            ("tokenwire_ns_per_event", .number(dialectNanosecondsPerEvent.rounded())),
            ("baseline_events_per_s", .number(baselineEventsPerSecond.rounded())),
            ("baseline_mb_per_s", .number((baselineMegabytesPerSecond * 10).rounded() / 10)),
            ("baseline_ns_per_event", .number(baselineNanosecondsPerEvent.rounded())),
            ("framing_only_ns_per_event", .number((framingNanosecondsPerEvent * 10).rounded() / 10)),
            ("ratio_vs_baseline", .number((ratio * 100).rounded() / 100)),
        ])
    }
}
