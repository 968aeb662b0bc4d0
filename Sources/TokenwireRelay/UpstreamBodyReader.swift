import NIOCore
import TokenwireCore
import TokenwireUpstream

/// Turns an upstream body, read by read, into frame events: the framing (SSE or NDJSON)
/// and then the dialect.
///
/// It holds no more than `maxEventBytes` of an unfinished line or event (plus the read in
/// hand), and cuts text longer than a frame should carry into several events.
struct UpstreamBodyReader {
    private var sse = SSEParser()
    private var ndjson = NDJSONSplitter()
    private var dialect: any UpstreamDialect
    private let framing: UpstreamFraming
    private let maxEventBytes: Int
    private let provider: String
    private(set) var eventsSeen = 0
    private(set) var bytesSeen = 0

    init(
        dialect kind: UpstreamDialectKind, provider: String,
        maxEventBytes: Int = UpstreamProviderConfiguration.defaultMaxEventBytes
    ) {
        self.provider = provider
        dialect = kind.makeDialect()
        framing = kind.dialectType.framing
        self.maxEventBytes = maxEventBytes
    }

    var isComplete: Bool { dialect.isComplete }

    /// Bytes of an unfinished line or event held by the framing parser.
    var bufferedBytes: Int {
        switch framing {
        case .serverSentEvents: sse.bufferedByteCount
        case .newlineDelimitedJSON: ndjson.bufferedByteCount
        }
    }

    /// The events in one read. A failure comes after the events that preceded it in the
    /// read, so they reach the client first.
    mutating func consume(_ buffer: ByteBuffer) -> (events: [TokenEvent], failure: UpstreamFailure?) {
        bytesSeen += buffer.readableBytes
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
            if event.data.utf8.count > maxEventBytes { return (events, tooLarge(event.data.utf8.count)) }
            do {
                for produced in try dialect.consume(event) { events += produced.splitForFrames() }
            } catch {
                return (events, .fromDialect(error, provider: provider))
            }
        }
        if bufferedBytes > maxEventBytes { return (events, tooLarge(bufferedBytes, unfinished: true)) }
        return (events, nil)
    }

    /// The events at the end of the body, or the failure if the stream was incomplete.
    mutating func finish() -> (events: [TokenEvent], failure: UpstreamFailure?) {
        let unfinished = bufferedBytes
        let tail: SSEEvent?
        switch framing {
        case .serverSentEvents: tail = sse.finish()
        case .newlineDelimitedJSON: tail = ndjson.finish().map { SSEEvent(data: $0) }
        }
        do {
            return (try dialect.finish(tail: tail).flatMap { $0.splitForFrames() }, nil)
        } catch {
            let cut = unfinished > 0 ? ", the last \(unfinished) of them an unfinished line" : ""
            return ([], .fromDialect(
                TokenwireError(
                    code: error.code,
                    message: "\(error.message) (the body ended after \(bytesSeen) bytes and \(eventsSeen) events\(cut))"),
                provider: provider))
        }
    }

    /// Not retried: the provider would send the same again.
    private func tooLarge(_ size: Int, unfinished: Bool = false) -> UpstreamFailure {
        let what = unfinished ? "an unfinished line or event of more than" : "an event of"
        return UpstreamFailure(
            .resourceExhausted(
                "provider '\(provider)' sent \(what) \(size) bytes, more than its max_event_bytes (\(maxEventBytes)) allows; "
                    + "the call ended after \(eventsSeen) events and \(bytesSeen) bytes"),
            isRetryable: false)
    }
}
