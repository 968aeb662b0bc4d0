import TokenwireUpstream

/// Tokenwire's framing alone: `SSEParser` (or `NDJSONSplitter`) with no dialect, to show how
/// much of the dialect path's time is event framing and how much is JSON.
enum FramingParsePass {
    /// Parses `responses` copies of a body, cut into `reads`, counting events only.
    static func run(framing: UpstreamFraming, reads: [ArraySlice<UInt8>], responses: Int) -> ParseTally {
        var tally = ParseTally()
        for _ in 0..<responses {
            switch framing {
            case .serverSentEvents:
                var parser = SSEParser()
                for read in reads {
                    parser.parse(read) { event in
                        tally.events += 1
                        tally.textBytes += event.data.utf8.count
                    }
                }
                if parser.finish() != nil { tally.events += 1 }
            case .newlineDelimitedJSON:
                var splitter = NDJSONSplitter()
                for read in reads {
                    splitter.parse(read) { line in
                        tally.events += 1
                        tally.textBytes += line.utf8.count
                    }
                }
                if splitter.finish() != nil { tally.events += 1 }
            }
        }
        return tally
    }
}
