import Foundation

/// The least any relay that reads the JSON must do: split lines naively at LF, take the
/// payload of `data:` lines (every non-blank line for NDJSON), and hand it to Foundation's
/// `JSONSerialization`. No SSE field rules, no event assembly, no mapping to frames.
enum BaselineParsePass {
    /// Parses `responses` copies of a body, cut into `reads`.
    static func run(reads: [ArraySlice<UInt8>], ndjson: Bool, responses: Int) -> ParseTally {
        var tally = ParseTally()
        for _ in 0..<responses {
            var pending: [UInt8] = []
            for read in reads {
                var start = read.startIndex
                while let newline = read[start...].firstIndex(of: 0x0A) {
                    if pending.isEmpty {
                        handle(line: read[start..<newline], ndjson: ndjson, into: &tally)
                    } else {
                        pending += read[start..<newline]
                        handle(line: pending[...], ndjson: ndjson, into: &tally)
                        pending.removeAll(keepingCapacity: true)
                    }
                    start = newline + 1
                }
                pending += read[start...]
            }
        }
        return tally
    }

    private static let dataPrefix = Array("data:".utf8)
    private static let doneSentinel = Array("[DONE]".utf8)

    private static func handle(line rawLine: ArraySlice<UInt8>, ndjson: Bool, into tally: inout ParseTally) {
        var line = rawLine
        if line.last == 0x0D { line = line.dropLast() }
        if ndjson {
            guard !line.isEmpty else { return }
        } else {
            guard line.starts(with: dataPrefix) else { return }
            line = line.dropFirst(dataPrefix.count)
            if line.first == 0x20 { line = line.dropFirst() }
        }
        tally.events += 1
        if line.elementsEqual(doneSentinel) { return }
        if (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] {
            tally.jsonObjects += 1
        }
    }
}
