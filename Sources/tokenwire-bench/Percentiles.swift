/// Nearest-rank percentiles of nanosecond samples, in milliseconds, the way the relay
/// harness's `client.py` computes them (`pct`), so its `report.py` reads both alike.
enum Percentiles {
    /// `{"n", "p50", "p90", "p99", "mean", "min", "max"}`, or `{"n": 0}` without samples.
    static func json(_ samples: [Int64]) -> BenchJSON {
        guard !samples.isEmpty else { return .object([("n", .int(0))]) }
        let sorted = samples.sorted()
        let count = sorted.count
        func rank(_ percent: Double) -> Int64 {
            let position = Int((percent / 100 * Double(count)).rounded(.up)) - 1
            return sorted[min(count - 1, max(0, position))]
        }
        let total = sorted.reduce(0.0) { $0 + Double($1) }
        return .object([
            ("n", .int(count)),
            ("p50", .number(milliseconds(rank(50)))), ("p90", .number(milliseconds(rank(90)))),
            ("p99", .number(milliseconds(rank(99)))),
            ("mean", .number(milliseconds(total / Double(count)))),
            ("min", .number(milliseconds(sorted[0]))), ("max", .number(milliseconds(sorted[count - 1]))),
        ])
    }

    /// Nanoseconds as milliseconds rounded to 3 decimals.
    static func milliseconds(_ nanoseconds: Int64) -> Double {
        milliseconds(Double(nanoseconds))
    }

    private static func milliseconds(_ nanoseconds: Double) -> Double {
        (nanoseconds / 1e3).rounded() / 1e3
    }
}
