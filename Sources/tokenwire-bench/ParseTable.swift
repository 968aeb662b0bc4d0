import Foundation

/// The `parse` results as a markdown table.
struct ParseTable {
    private let measurements: [ParseMeasurement]

    init(_ measurements: [ParseMeasurement]) {
        self.measurements = measurements
    }

    var markdown: String {
        var lines = [
            "| dialect | reads | bytes/event | tokenwire events/s | MB/s | ns/event | baseline events/s | MB/s | ns/event | × baseline | framing only ns/event |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in measurements {
            let cells = [
                row.kind.rawValue, row.readMode.description,
                Self.grouped(Double(row.bytesPerPass) / Double(row.eventsPerPass)),
                Self.grouped(row.dialectEventsPerSecond), String(format: "%.1f", row.dialectMegabytesPerSecond),
                Self.grouped(row.dialectNanosecondsPerEvent),
                Self.grouped(row.baselineEventsPerSecond), String(format: "%.1f", row.baselineMegabytesPerSecond),
                Self.grouped(row.baselineNanosecondsPerEvent), String(format: "%.2f", row.ratio),
                String(format: "%.0f", row.framingNanosecondsPerEvent),
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// A whole number with thousands separators: 1,234,567.
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var output = ""
        for (position, character) in digits.reversed().enumerated() {
            if position > 0, position % 3 == 0, character != "-" { output.append(",") }
            output.append(character)
        }
        return String(output.reversed())
    }
}
