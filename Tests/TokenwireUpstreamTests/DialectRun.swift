import Testing
import TokenwireCore
import TokenwireUpstream

/// What a dialect made of one upstream body: the frame events it emitted (including those
/// emitted before a failure) and the error it ended with, if any.
struct DialectRun {
    var events: [TokenEvent] = []
    var error: TokenwireError?

    /// Runs a body through the dialect's framing (SSE or NDJSON) and the dialect, read by read.
    static func run<Dialect: UpstreamDialect, Read: Collection>(
        _ dialectType: Dialect.Type,
        reads: [Read]
    ) -> DialectRun where Read.Element == UInt8 {
        var dialect = Dialect()
        var run = DialectRun()
        do {
            switch Dialect.framing {
            case .serverSentEvents:
                var parser = SSEParser()
                for read in reads {
                    try parser.parse(read) { run.events += try dialect.consume($0) }
                }
                run.events += try dialect.finish(tail: parser.finish())
            case .newlineDelimitedJSON:
                var splitter = NDJSONSplitter()
                for read in reads {
                    try splitter.parse(read) { run.events += try dialect.consume(SSEEvent(data: $0)) }
                }
                run.events += try dialect.finish(tail: splitter.finish().map { SSEEvent(data: $0) })
            }
        } catch let error as TokenwireError {
            run.error = error
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
        return run
    }

    /// Runs a whole body in one read.
    static func run<Dialect: UpstreamDialect>(_ dialectType: Dialect.Type, body: [UInt8]) -> DialectRun {
        run(dialectType, reads: [body])
    }

    /// Runs a body given as a string, in one read.
    static func run<Dialect: UpstreamDialect>(_ dialectType: Dialect.Type, _ body: String) -> DialectRun {
        run(dialectType, reads: [Array(body.utf8)])
    }

    var text: String {
        events.map { if case .text(let text) = $0 { text } else { "" } }.joined()
    }

    var reasoning: String {
        events.map { if case .reasoning(let text) = $0 { text } else { "" } }.joined()
    }

    var toolCallDeltas: [ToolCallDelta] {
        events.compactMap { if case .toolCall(let delta) = $0 { delta } else { nil } }
    }

    var finishes: [Finish] {
        events.compactMap { if case .finish(let finish) = $0 { finish } else { nil } }
    }

    /// The one `.finish`, if it is the last event and the only one.
    var finish: Finish? {
        guard finishes.count == 1, case .finish(let finish)? = events.last else { return nil }
        return finish
    }

    /// Tool calls assembled as a consumer must (`ToolCallAssembler`).
    var toolCalls: [ToolCall] {
        var assembler = ToolCallAssembler()
        for delta in toolCallDeltas { assembler.add(delta) }
        return assembler.toolCalls
    }
}
