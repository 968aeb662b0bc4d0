import FuzzSupport
import TokenwireCore
import TokenwireUpstream

/// What a dialect made of one response: its events and how it ended.
struct DialectRun {
    var events: [TokenEvent] = []
    var firstError: TokenwireError?
    var finishError: TokenwireError?
}

/// The events of the payload as the dialect's framing delivers them, and the tail.
func framedEvents(_ payload: [UInt8], chunks: [Range<Int>], framing: UpstreamFraming) -> ([SSEEvent], SSEEvent?) {
    var events: [SSEEvent] = []
    switch framing {
    case .serverSentEvents:
        var parser = SSEParser()
        for range in chunks { parser.parse(payload[range]) { events.append($0) } }
        return (events, parser.finish())
    case .newlineDelimitedJSON:
        var splitter = NDJSONSplitter()
        for range in chunks { splitter.parse(payload[range]) { events.append(SSEEvent(data: $0)) } }
        return (events, splitter.finish().map { SSEEvent(data: $0) })
    }
}

/// Runs one dialect over the events, checking the contract of `UpstreamDialect`.
func run(_ kind: UpstreamDialectKind, events: [SSEEvent], tail: SSEEvent?) -> DialectRun {
    var dialect = kind.makeDialect()
    var result = DialectRun()
    for event in events {
        do {
            let produced = try dialect.consume(event)
            fuzzRequire(result.firstError == nil, "\(kind): consume succeeded after it had thrown \(result.firstError!)")
            result.events += produced
        } catch {
            if let first = result.firstError {
                fuzzRequire(error == first, "\(kind): threw \(error) after \(first); a failed stream must keep its error")
            } else {
                result.firstError = error
            }
        }
    }
    let wasComplete = dialect.isComplete
    do {
        result.events += try dialect.finish(tail: tail)
        fuzzRequire(result.firstError == nil, "\(kind): finish succeeded after consume had thrown \(result.firstError!)")
        let finishes = result.events.indices.filter { if case .finish = result.events[$0] { true } else { false } }
        fuzzRequire(finishes.count == 1, "\(kind): a successful stream had \(finishes.count) finish events: \(result.events)")
        fuzzRequire(finishes.first == result.events.count - 1, "\(kind): events after the finish: \(result.events)")
    } catch {
        if let first = result.firstError {
            fuzzRequire(error == first, "\(kind): finish threw \(error) after \(first); a failed stream must keep its error")
        } else {
            fuzzRequire(!wasComplete, "\(kind): finish threw \(error) although the dialect was complete")
        }
        result.finishError = error
    }
    return result
}

/// Every upstream dialect: the first byte chooses it (one of seven), the payload is framed
/// as that dialect's upstream frames it (SSE or NDJSON, in chunks the next bytes choose)
/// and the events go to `consume`, the tail to `finish(tail:)`.
/// Invariants (the `UpstreamDialect` contract): once a dialect throws, every later call
/// throws the same error; a dialect that reported `isComplete` finishes without error; a
/// successful stream has exactly one `.finish`, and it is the last event.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDialects(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let kinds = UpstreamDialectKind.allCases
    let kind = kinds[Int(input.byte()) % kinds.count]
    let (payload, chunks) = input.chunkedPayload()
    let (events, tail) = framedEvents(payload, chunks: chunks, framing: kind.dialectType.framing)
    _ = run(kind, events: events, tail: tail)
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_dialects_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzDialects($0, $1) }
}
