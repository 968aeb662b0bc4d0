import TokenwireUpstream

/// Everything an `SSEParser` reports for one body.
struct SSEParseResult: Equatable {
    var events: [SSEEvent] = []
    var tail: SSEEvent?
    var commentCount = 0
    var retry: Int?
    var lastEventID = ""

    /// Parses `reads` in order with a fresh parser, then finishes it.
    static func parse<Read: Collection>(_ reads: [Read]) -> SSEParseResult where Read.Element == UInt8 {
        var parser = SSEParser()
        var result = SSEParseResult()
        for read in reads {
            parser.parse(read) { result.events.append($0) }
        }
        result.tail = parser.finish()
        result.commentCount = parser.commentCount
        result.retry = parser.retry
        result.lastEventID = parser.lastEventID
        return result
    }

    /// Parses a body given as a string, in one read.
    static func parse(_ body: String) -> SSEParseResult {
        parse([Array(body.utf8)])
    }
}
