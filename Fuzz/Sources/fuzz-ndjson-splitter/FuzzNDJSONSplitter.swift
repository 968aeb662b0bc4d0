import FuzzSupport
import TokenwireUpstream

/// The lines and tail an `NDJSONSplitter` makes of one stream.
struct NDJSONOutcome: Equatable {
    var lines: [String] = []
    var tail: String?
}

/// Splits `payload` in `chunks`; odd chunks go through the generic (copying) entry point.
func split(_ payload: [UInt8], chunks: [Range<Int>]) -> NDJSONOutcome {
    var splitter = NDJSONSplitter()
    var outcome = NDJSONOutcome()
    for (position, range) in chunks.enumerated() {
        if position % 2 == 0 {
            splitter.parse(payload[range]) { outcome.lines.append($0) }
        } else {
            splitter.parse(payload[range].lazy.map { $0 }) { outcome.lines.append($0) }
        }
    }
    outcome.tail = splitter.finish()
    return outcome
}

/// NDJSONSplitter: the payload in up to eight chunks (the first bytes choose the cuts),
/// then `finish()`. Invariants: the same lines and tail as one read of the whole payload;
/// no line is blank or contains an LF.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSONSplitter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let (payload, chunks) = input.chunkedPayload()
    let whole = split(payload, chunks: [0..<payload.count])
    let chunked = split(payload, chunks: chunks)
    fuzzRequire(whole == chunked, "chunks \(chunks) gave \(chunked), one read gave \(whole)")
    if payload.count <= 64 {
        let bytewise = split(payload, chunks: payload.indices.map { $0..<($0 + 1) })
        fuzzRequire(whole == bytewise, "byte by byte gave \(bytewise), one read gave \(whole)")
    }
    for line in whole.lines + (whole.tail.map { [$0] } ?? []) {
        fuzzRequire(!line.utf8.contains(0x0A), "line \(line.debugDescription) contains an LF")
        fuzzRequire(line.utf8.contains { $0 != 0x20 && $0 != 0x09 }, "blank line \(line.debugDescription) emitted")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_ndjson_splitter_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzNDJSONSplitter($0, $1) }
}
