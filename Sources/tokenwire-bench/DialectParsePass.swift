import TokenwireCore
import TokenwireUpstream

/// Tokenwire's path for an upstream body: `SSEParser` (or `NDJSONSplitter`) and the
/// dialect's `consume`/`finish`, read by read, one parser and dialect per response.
enum DialectParsePass {
    /// Parses `responses` copies of a body, cut into `reads`, with the dialect of `kind`.
    /// - Throws: `BenchError` if the dialect throws: the synthetic streams are well formed.
    static func run(
        _ kind: UpstreamDialectKind, reads: [ArraySlice<UInt8>], responses: Int
    ) throws(BenchError) -> ParseTally {
        switch kind {
        case .openAIChat: try run(OpenAIChatDialect.self, reads: reads, responses: responses)
        case .openAIResponses: try run(OpenAIResponsesDialect.self, reads: reads, responses: responses)
        case .anthropic: try run(AnthropicDialect.self, reads: reads, responses: responses)
        case .gemini: try run(GeminiDialect.self, reads: reads, responses: responses)
        case .cohere: try run(CohereDialect.self, reads: reads, responses: responses)
        case .ollama: try run(OllamaDialect.self, reads: reads, responses: responses)
        case .tgi: try run(TGIDialect.self, reads: reads, responses: responses)
        }
    }

    private static func run<Dialect: UpstreamDialect>(
        _ type: Dialect.Type, reads: [ArraySlice<UInt8>], responses: Int
    ) throws(BenchError) -> ParseTally {
        var tally = ParseTally()
        do {
            for _ in 0..<responses {
                switch Dialect.framing {
                case .serverSentEvents: try parseSSE(Dialect.self, reads: reads, into: &tally)
                case .newlineDelimitedJSON: try parseNDJSON(Dialect.self, reads: reads, into: &tally)
                }
            }
        } catch {
            throw BenchError(.dialectFailed, "\(Dialect.name) failed on a well-formed stream", cause: error)
        }
        return tally
    }

    private static func parseSSE<Dialect: UpstreamDialect>(
        _ type: Dialect.Type, reads: [ArraySlice<UInt8>], into tally: inout ParseTally
    ) throws {
        var parser = SSEParser()
        var dialect = Dialect()
        for read in reads {
            try parser.parse(read) { event in
                tally.events += 1
                tally.add(try dialect.consume(event))
            }
        }
        tally.add(try dialect.finish(tail: parser.finish()))
    }

    private static func parseNDJSON<Dialect: UpstreamDialect>(
        _ type: Dialect.Type, reads: [ArraySlice<UInt8>], into tally: inout ParseTally
    ) throws {
        var splitter = NDJSONSplitter()
        var dialect = Dialect()
        for read in reads {
            try splitter.parse(read) { line in
                tally.events += 1
                tally.add(try dialect.consume(SSEEvent(data: line)))
            }
        }
        tally.add(try dialect.finish(tail: splitter.finish().map { SSEEvent(data: $0) }))
    }
}
