import TokenwireCore

/// What one timed pass parsed, compared afterwards with what its workload holds.
struct ParseTally: Equatable {
    /// Events dispatched by the SSE parser (or lines by the NDJSON splitter), or, for the
    /// baseline, lines whose payload it handled.
    var events = 0
    /// Payloads decoded as a JSON object (baseline only).
    var jsonObjects = 0
    var textEvents = 0
    var textBytes = 0
    var finishes = 0
    var lastFinishReason: String?

    /// Counts the frame events a dialect emitted.
    mutating func add(_ frameEvents: [TokenEvent]) {
        for event in frameEvents {
            switch event {
            case .text(let text):
                textEvents += 1
                textBytes += text.utf8.count
            case .finish(let finish):
                finishes += 1
                lastFinishReason = finish.reason
            default:
                break
            }
        }
    }

    /// Checks a dialect pass over `responses` copies of `stream`.
    func verifyDialect(_ stream: SyntheticStream, responses: Int) throws(BenchError) {
        let expected = ParseTally(
            events: stream.eventCount * responses, textEvents: stream.textEventCount * responses,
            textBytes: stream.textByteCount * responses, finishes: responses, lastFinishReason: stream.finishReason)
        guard self == expected else {
            throw BenchError(.verificationFailed, "\(stream.kind.rawValue): the dialect yielded \(self), expected \(expected)")
        }
    }

    /// Checks a framing-only pass over `responses` copies of `stream`: every event, and
    /// every payload byte (`textBytes` holds the data bytes here).
    func verifyFraming(_ stream: SyntheticStream, responses: Int) throws(BenchError) {
        guard events == stream.eventCount * responses, textBytes == stream.dataByteCount * responses else {
            throw BenchError(
                .verificationFailed,
                "\(stream.kind.rawValue): the parser alone saw \(events) events with \(textBytes) data bytes, expected "
                    + "\(stream.eventCount * responses) and \(stream.dataByteCount * responses)")
        }
    }

    /// Checks a baseline pass over `responses` copies of `stream`.
    func verifyBaseline(_ stream: SyntheticStream, responses: Int) throws(BenchError) {
        guard events == stream.eventCount * responses, jsonObjects == stream.jsonEventCount * responses else {
            throw BenchError(
                .verificationFailed,
                "\(stream.kind.rawValue): the baseline saw \(events) events and \(jsonObjects) JSON objects, expected "
                    + "\(stream.eventCount * responses) and \(stream.jsonEventCount * responses)")
        }
    }
}
