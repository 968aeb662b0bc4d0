import FuzzSupport
import TokenwireUpstream

/// Everything an `SSEParser` makes of one stream.
struct SSEParseOutcome: Equatable {
    var events: [SSEEvent] = []
    var tail: SSEEvent?
    var retry: Int?
    var commentCount = 0
    var lastEventID = ""
}

/// Parses `payload` in `chunks`; odd chunks go through the generic (copying) entry point.
func parse(_ payload: [UInt8], chunks: [Range<Int>]) -> SSEParseOutcome {
    var parser = SSEParser()
    var outcome = SSEParseOutcome()
    for (position, range) in chunks.enumerated() {
        if position % 2 == 0 {
            parser.parse(payload[range]) { outcome.events.append($0) }
        } else {
            parser.parse(payload[range].lazy.map { $0 }) { outcome.events.append($0) }
        }
    }
    outcome.tail = parser.finish()
    outcome.retry = parser.retry
    outcome.commentCount = parser.commentCount
    outcome.lastEventID = parser.lastEventID
    return outcome
}

/// SSEParser: the payload in up to eight chunks (the first bytes choose the cuts), then
/// `finish()`. Invariant: the same events, tail, retry, comment count and last event ID as
/// one read of the whole payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSEParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let (payload, chunks) = input.chunkedPayload()
    let whole = parse(payload, chunks: [0..<payload.count])
    let chunked = parse(payload, chunks: chunks)
    fuzzRequire(whole == chunked, "chunks \(chunks) gave \(chunked), one read gave \(whole)")
    // One byte at a time: the most splits, for short payloads.
    if payload.count <= 64 {
        let bytewise = parse(payload, chunks: payload.indices.map { $0..<($0 + 1) })
        fuzzRequire(whole == bytewise, "byte by byte gave \(bytewise), one read gave \(whole)")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_sse_parser_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzSSEParser($0, $1) }
}
