/// An incremental parser for a `text/event-stream` body, following the WHATWG HTML rules
/// for "parsing an event stream" and "interpreting an event stream" (§9.2.5–9.2.6).
///
/// Feed it bytes as they arrive, in reads of any size; it calls back once per dispatched
/// event. Reads may split anything anywhere — a CRLF, a UTF-8 character, a field name —
/// and the events are the same as for one read of the whole body.
///
/// The rules it keeps, and the ones real streams break:
/// - Lines end at CRLF, LF or CR, and only there: U+2028, U+2029 and U+0085 are data.
///   A CR ending one read and an LF starting the next are one line end.
/// - Bytes are decoded as UTF-8 only once a line (for `data`, once an event) is complete,
///   so characters split across reads survive; invalid UTF-8 becomes U+FFFD.
/// - One byte-order mark at the start of the stream is skipped; a second one is not.
/// - `field:value` with one leading space of the value removed; a line without a colon is
///   a field name with an empty value; lines starting with `:` are comments (counted in
///   `commentCount`, for keep-alive accounting); unknown fields are ignored.
/// - `data` lines are joined with "\n"; `event` sets the type of the next event; `id`
///   (ignored if it contains U+0000) persists across events; `retry` is taken only if it
///   is all ASCII digits.
/// - A blank line dispatches the event if any `data` line was seen since the last
///   dispatch; otherwise it only resets the event type.
/// - At the end of the stream, the fields gathered since the last blank line are not
///   dispatched (strict WHATWG). `finish()` hands them back so that the caller — the
///   upstream dialect — can decide whether that unterminated tail is a complete
///   terminating event.
///
/// - Important: A value type with no I/O and no locks; use one parser per stream, from one
///   task at a time.
public struct SSEParser: Sendable {
    /// The last valid `retry:` value (the reconnection time in milliseconds), if any.
    public private(set) var retry: Int?
    /// How many comment lines (`:` ...) the stream has carried: keep-alives, usually.
    public private(set) var commentCount = 0
    /// The last event ID committed by a dispatch (the EventSource `lastEventId`); "" if none.
    public private(set) var lastEventID = ""

    /// Bytes of a line that began in an earlier read and has not ended yet.
    private var partialLine: [UInt8] = []
    /// The previous read ended with CR: an LF at the start of the next read belongs to it.
    private var skipsLeadingLineFeed = false
    /// No line has been completed yet, so a byte-order mark may still be pending.
    private var atStreamStart = true
    private var dataBuffer: [UInt8] = []
    /// Whether any `data` field was seen since the last dispatch (the buffer may be empty
    /// after a bare `data` line, which still makes an event).
    private var hasData = false
    private var eventType: String?
    private var idBuffer = ""

    /// A parser at the start of a stream.
    public init() {}

    /// Bytes held for what is not finished yet: a line without its line end, and the `data`
    /// of an event not yet dispatched. The parser sets no bound itself; a caller reading
    /// an untrusted stream checks this after each read (`UpstreamBodyReader` does).
    public var bufferedByteCount: Int { partialLine.count + dataBuffer.count }

    /// Parses the next bytes of the stream.
    ///
    /// - Parameters:
    ///   - bytes: The next read, of any length (empty is fine).
    ///   - onEvent: Called for each event the bytes complete, in order.
    /// - Throws: Only what `onEvent` throws; the parser then stops at that event, and the
    ///   rest of `bytes` is not parsed.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer,
        _ onEvent: (SSEEvent) throws -> Void
    ) rethrows {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let end = bytes.count
        var start = 0
        if skipsLeadingLineFeed {
            skipsLeadingLineFeed = false
            if base.load(as: UInt8.self) == ByteValue.lineFeed { start = 1 }
        }
        while start < end {
            guard let lineEnd = LineEndScanner.firstCROrLF(in: base, from: start, to: end) else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                return
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<lineEnd])
            if partialLine.isEmpty {
                try processLine(line, onEvent)
            } else {
                partialLine.append(contentsOf: line)
                try processPartialLine(onEvent)
            }
            start = lineEnd + 1
            if base.load(fromByteOffset: lineEnd, as: UInt8.self) == ByteValue.carriageReturn {
                if start == end {
                    skipsLeadingLineFeed = true
                } else if base.load(fromByteOffset: start, as: UInt8.self) == ByteValue.lineFeed {
                    start += 1
                }
            }
        }
    }

    /// Parses the next bytes of the stream from any byte collection (`[UInt8]`, `Data`,
    /// a slice...). Contiguous collections are parsed in place, others copied once.
    ///
    /// - Parameters:
    ///   - bytes: The next read.
    ///   - onEvent: Called for each event the bytes complete, in order.
    /// - Throws: Only what `onEvent` throws.
    public mutating func parse<Bytes: Collection>(
        _ bytes: Bytes,
        _ onEvent: (SSEEvent) throws -> Void
    ) rethrows where Bytes.Element == UInt8 {
        let parsedInPlace: Void? = try bytes.withContiguousStorageIfAvailable { buffer in
            try self.parse(UnsafeRawBufferPointer(buffer), onEvent)
        }
        if parsedInPlace == nil {
            try Array(bytes).withUnsafeBytes { try self.parse($0, onEvent) }
        }
    }

    /// Ends the stream: returns the fields gathered since the last dispatch — including a
    /// last line that had no line ending — as an event that was NOT dispatched, or nil if
    /// nothing was pending.
    ///
    /// The returned event's `id` is the pending ID buffer; `lastEventID` is not updated,
    /// because per WHATWG an undispatched event commits nothing. Afterwards the parser is
    /// ready for a new stream (a reconnection): `retry`, `commentCount` and `lastEventID`
    /// are kept, everything else starts afresh.
    ///
    /// - Returns: The unterminated tail event, or nil.
    public mutating func finish() -> SSEEvent? {
        if !partialLine.isEmpty {
            // A non-empty line never dispatches, so the callback is never called.
            processPartialLine { _ in }
        }
        defer {
            dataBuffer.removeAll(keepingCapacity: true)
            hasData = false
            eventType = nil
            idBuffer = lastEventID
            skipsLeadingLineFeed = false
            atStreamStart = true
        }
        guard hasData || eventType != nil else { return nil }
        return SSEEvent(event: eventType, data: String(decoding: dataBuffer, as: UTF8.self), id: pendingID)
    }

    private var pendingID: String? { idBuffer.isEmpty ? nil : idBuffer }

    /// Processes `partialLine` as a complete line and empties it, keeping its storage.
    private mutating func processPartialLine(_ onEvent: (SSEEvent) throws -> Void) rethrows {
        var line: [UInt8] = []
        swap(&line, &partialLine)
        defer {
            line.removeAll(keepingCapacity: true)
            swap(&line, &partialLine)
        }
        try line.withUnsafeBytes { try processLine($0, onEvent) }
    }

    private mutating func processLine(
        _ rawLine: UnsafeRawBufferPointer,
        _ onEvent: (SSEEvent) throws -> Void
    ) rethrows {
        var line = rawLine
        if atStreamStart {
            atStreamStart = false
            if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                line = UnsafeRawBufferPointer(rebasing: line[3...])
            }
        }
        guard let first = line.first else {
            try dispatch(onEvent)
            return
        }
        if first == ByteValue.colon {
            commentCount += 1
            return
        }
        let colon = line.firstIndex(of: ByteValue.colon)
        let name = UnsafeRawBufferPointer(rebasing: line[..<(colon ?? line.count)])
        var value = UnsafeRawBufferPointer(rebasing: line[(colon.map { $0 + 1 } ?? line.count)...])
        if value.first == ByteValue.space {
            value = UnsafeRawBufferPointer(rebasing: value[1...])
        }
        processField(name: name, value: value)
    }

    private mutating func processField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if Self.isField(name, "data") {
            if hasData { dataBuffer.append(ByteValue.lineFeed) }
            dataBuffer.append(contentsOf: value)
            hasData = true
        } else if Self.isField(name, "event") {
            eventType = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        } else if Self.isField(name, "id") {
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        } else if Self.isField(name, "retry") {
            if let milliseconds = Self.decimalDigits(value) { retry = milliseconds }
        }
    }

    private mutating func dispatch(_ onEvent: (SSEEvent) throws -> Void) rethrows {
        lastEventID = idBuffer
        guard hasData else {
            eventType = nil
            return
        }
        let event = SSEEvent(event: eventType, data: String(decoding: dataBuffer, as: UTF8.self), id: pendingID)
        dataBuffer.removeAll(keepingCapacity: true)
        hasData = false
        eventType = nil
        try onEvent(event)
    }

    /// Whether a field name is `literal` (ASCII), compared byte for byte.
    @inline(__always)
    private static func isField(_ name: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard name.count == literal.utf8CodeUnitCount else { return false }
        for offset in 0..<name.count where name[offset] != literal.utf8Start[offset] {
            return false
        }
        return true
    }

    /// The value of a non-empty run of ASCII digits, or nil (also on overflow).
    private static func decimalDigits(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var result = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (shifted, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            result = sum
        }
        return result
    }
}

/// The ASCII bytes the line-based parsers look for.
enum ByteValue {
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let colon: UInt8 = 0x3A
    static let space: UInt8 = 0x20
}
