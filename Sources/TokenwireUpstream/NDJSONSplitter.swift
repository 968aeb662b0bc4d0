/// Splits a newline-delimited JSON body (`application/x-ndjson`, as Ollama streams) into
/// lines, incrementally.
///
/// Lines end at LF; a CR just before the LF is dropped (CRLF). Blank lines (empty or only
/// spaces and tabs) are skipped. Lines are decoded as UTF-8 only when complete, so reads
/// may split a character anywhere; invalid UTF-8 becomes U+FFFD. A leading byte-order mark
/// is skipped.
///
/// - Important: A value type with no I/O; one splitter per stream, one task at a time.
public struct NDJSONSplitter: Sendable {
    private var partialLine: [UInt8] = []
    private var atStreamStart = true

    /// A splitter at the start of a stream.
    public init() {}

    /// Bytes of a line whose end has not arrived yet. The splitter sets no bound itself; a
    /// caller reading an untrusted stream checks this after each read.
    public var bufferedByteCount: Int { partialLine.count }

    /// Splits the next bytes of the stream.
    ///
    /// - Parameters:
    ///   - bytes: The next read, of any length.
    ///   - onLine: Called with each non-blank line the bytes complete, without its line end.
    /// - Throws: Only what `onLine` throws; the rest of `bytes` is then not parsed.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, _ onLine: (String) throws -> Void) rethrows {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let end = bytes.count
        var start = 0
        while start < end {
            guard let lineEnd = LineEndScanner.firstLF(in: base, from: start, to: end) else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                return
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<lineEnd])
            if partialLine.isEmpty {
                try emit(line, onLine)
            } else {
                partialLine.append(contentsOf: line)
                try emitPartialLine(onLine)
            }
            start = lineEnd + 1
        }
    }

    /// Splits the next bytes of the stream from any byte collection.
    ///
    /// - Parameters:
    ///   - bytes: The next read.
    ///   - onLine: Called with each non-blank line the bytes complete.
    /// - Throws: Only what `onLine` throws.
    public mutating func parse<Bytes: Collection>(
        _ bytes: Bytes,
        _ onLine: (String) throws -> Void
    ) rethrows where Bytes.Element == UInt8 {
        let parsedInPlace: Void? = try bytes.withContiguousStorageIfAvailable { buffer in
            try self.parse(UnsafeRawBufferPointer(buffer), onLine)
        }
        if parsedInPlace == nil {
            try Array(bytes).withUnsafeBytes { try self.parse($0, onLine) }
        }
    }

    /// Ends the stream.
    ///
    /// - Returns: The last line if the stream did not end with a line end and it is not
    ///   blank, otherwise nil. The splitter is then ready for a new stream.
    public mutating func finish() -> String? {
        var last: String?
        emitPartialLine { last = $0 }
        atStreamStart = true
        return last
    }

    private mutating func emitPartialLine(_ onLine: (String) throws -> Void) rethrows {
        var line: [UInt8] = []
        swap(&line, &partialLine)
        defer {
            line.removeAll(keepingCapacity: true)
            swap(&line, &partialLine)
        }
        try line.withUnsafeBytes { try emit($0, onLine) }
    }

    private mutating func emit(_ rawLine: UnsafeRawBufferPointer, _ onLine: (String) throws -> Void) rethrows {
        var line = rawLine
        if atStreamStart {
            atStreamStart = false
            if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                line = UnsafeRawBufferPointer(rebasing: line[3...])
            }
        }
        if line.last == ByteValue.carriageReturn {
            line = UnsafeRawBufferPointer(rebasing: line[..<(line.count - 1)])
        }
        guard line.contains(where: { $0 != ByteValue.space && $0 != 0x09 }) else { return }
        try onLine(String(decoding: line, as: UTF8.self))
    }
}
