import NIOCore
import TokenwireCore
import TokenwireUpstream

/// Turns an upstream body, read by read, into frame events: the framing (SSE or NDJSON)
/// and then the dialect.
struct UpstreamBodyReader {
    private var sse = SSEParser()
    private var ndjson = NDJSONSplitter()
    private var dialect: any UpstreamDialect
    private let framing: UpstreamFraming
    private(set) var eventsSeen = 0

    init(dialect kind: UpstreamDialectKind) {
        dialect = kind.makeDialect()
        framing = kind.dialectType.framing
    }

    var isComplete: Bool { dialect.isComplete }

    /// The events in one read. A failure comes after the events that preceded it in the
    /// read, so they reach the client first.
    mutating func consume(_ buffer: ByteBuffer) -> (events: [TokenEvent], failure: TokenwireError?) {
        var upstreamEvents: [SSEEvent] = []
        buffer.withUnsafeReadableBytes { bytes in
            switch framing {
            case .serverSentEvents: sse.parse(bytes) { upstreamEvents.append($0) }
            case .newlineDelimitedJSON: ndjson.parse(bytes) { upstreamEvents.append(SSEEvent(data: $0)) }
            }
        }
        var events: [TokenEvent] = []
        for event in upstreamEvents {
            eventsSeen += 1
            do {
                events += try dialect.consume(event)
            } catch {
                return (events, error)
            }
        }
        return (events, nil)
    }

    /// The events at the end of the body, or the failure if the stream was incomplete.
    mutating func finish() -> (events: [TokenEvent], failure: TokenwireError?) {
        let tail: SSEEvent?
        switch framing {
        case .serverSentEvents: tail = sse.finish()
        case .newlineDelimitedJSON: tail = ndjson.finish().map { SSEEvent(data: $0) }
        }
        do {
            return (try dialect.finish(tail: tail), nil)
        } catch {
            return ([], error)
        }
    }
}
