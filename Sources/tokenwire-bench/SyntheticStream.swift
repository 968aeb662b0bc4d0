import TokenwireUpstream

/// One upstream response body in a dialect's exact wire shape, with what parsing it must yield.
///
/// Built by the `SyntheticStream+Dialects` builders from event templates copied from the
/// recorded provider streams in `Tests/TokenwireUpstreamTests/Fixtures/`; only the token
/// texts and the number of tokens differ. The expected counts let the benchmark check, on
/// every timed pass, that it parsed what it claims to have parsed.
struct SyntheticStream: Sendable {
    /// The dialect this body is written in.
    let kind: UpstreamDialectKind
    /// The whole response body.
    let body: [UInt8]
    /// End offset in `body` of each event (SSE event or NDJSON line), in order.
    let eventEnds: [Int]
    /// Events whose data is a JSON document (all but OpenAI's `[DONE]`).
    let jsonEventCount: Int
    /// UTF-8 bytes of all events' data, as the SSE parser (or NDJSON splitter) hands it over.
    let dataByteCount: Int
    /// `.text` frame events the dialect must emit.
    let textEventCount: Int
    /// UTF-8 bytes of all text, joined.
    let textByteCount: Int
    /// The reason of the one `.finish` the dialect must emit.
    let finishReason: String

    /// Dispatched events (SSE) or lines (NDJSON) in the body.
    var eventCount: Int { eventEnds.count }

    /// The body cut into reads: one per event, or fixed-size reads.
    func reads(_ mode: ReadMode) -> [ArraySlice<UInt8>] {
        switch mode {
        case .perEvent:
            var start = 0
            return eventEnds.map { end in
                defer { start = end }
                return body[start..<end]
            }
        case .fixed(let size):
            return stride(from: 0, to: body.count, by: size).map { body[$0..<min($0 + size, body.count)] }
        }
    }
}

/// How a benchmark cuts a body into reads.
enum ReadMode: Hashable, CustomStringConvertible {
    /// Each read holds exactly one event: a paced stream, one token per TCP segment.
    case perEvent
    /// Reads of this many bytes, splitting events anywhere: a stream the relay fell behind on.
    case fixed(Int)

    /// `event`, or a byte count such as `16384` or `16k`.
    init?(argument: String) {
        if argument == "event" {
            self = .perEvent
            return
        }
        let kibibytes = argument.lowercased().hasSuffix("k")
        guard let number = Int(kibibytes ? String(argument.dropLast()) : argument), number > 0 else { return nil }
        self = .fixed(kibibytes ? number * 1024 : number)
    }

    var description: String {
        switch self {
        case .perEvent: "event"
        case .fixed(let size): size % 1024 == 0 ? "\(size / 1024)k" : "\(size)"
        }
    }
}

/// Accumulates a body event by event, in SSE or NDJSON framing.
struct SyntheticStreamBuilder {
    private let kind: UpstreamDialectKind
    private let lineEnd: String
    private let dataPrefix: String
    private var body: [UInt8] = []
    private var eventEnds: [Int] = []
    private var jsonEventCount = 0
    private var dataByteCount = 0
    private var textEventCount = 0
    private var textByteCount = 0

    /// - Parameters:
    ///   - lineEnd: `"\n"`, or `"\r\n"` for providers that frame with CRLF (Gemini).
    ///   - dataPrefix: `"data: "`, or `"data:"` for servers that write no space (TGI).
    init(kind: UpstreamDialectKind, lineEnd: String = "\n", dataPrefix: String = "data: ") {
        self.kind = kind
        self.lineEnd = lineEnd
        self.dataPrefix = dataPrefix
    }

    /// Appends one event. `text` is the token text the dialect must emit for it, if any.
    mutating func add(event name: String? = nil, json: String, text: String? = nil) {
        jsonEventCount += 1
        addRaw(event: name, data: json)
        if let text {
            textEventCount += 1
            textByteCount += text.utf8.count
        }
    }

    /// Appends an event whose data is not JSON (OpenAI's `[DONE]`).
    mutating func addSentinel(_ data: String) {
        addRaw(event: nil, data: data)
    }

    private mutating func addRaw(event name: String?, data: String) {
        dataByteCount += data.utf8.count
        switch kind.dialectType.framing {
        case .serverSentEvents:
            if let name { body += Array("event: \(name)\(lineEnd)".utf8) }
            body += Array("\(dataPrefix)\(data)\(lineEnd)\(lineEnd)".utf8)
        case .newlineDelimitedJSON:
            body += Array("\(data)\n".utf8)
        }
        eventEnds.append(body.count)
    }

    /// The finished body.
    func build(finishReason: String) -> SyntheticStream {
        SyntheticStream(
            kind: kind, body: body, eventEnds: eventEnds, jsonEventCount: jsonEventCount, dataByteCount: dataByteCount,
            textEventCount: textEventCount, textByteCount: textByteCount, finishReason: finishReason)
    }
}
