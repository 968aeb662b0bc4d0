public import NIOCore

/// Reads RESP2 values from the bytes a Redis server sends, as they arrive.
///
/// `next(from:)` takes a whole value off the front of the buffer, or takes nothing and
/// returns nil when the value is not complete yet. Every length is bounded
/// (`Limits`), so a broken or hostile server cannot make the client allocate without
/// end: a bulk string or array past its limit, a line longer than `maxLineBytes`, or
/// nesting deeper than `maxDepth` is a `RESPProtocolError`.
public struct RESPParser: Sendable {
    public struct Limits: Sendable {
        /// Largest bulk string accepted (Redis's own cap is 512 MB).
        public var maxBulkBytes = 64 * 1024 * 1024
        /// Most elements in one array.
        public var maxArrayElements = 1_000_000
        /// Longest simple string, error or number line (without CRLF).
        public var maxLineBytes = 64 * 1024
        /// Deepest nesting of arrays.
        public var maxDepth = 32

        public init() {}
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The next whole value at the front of `buffer` (consumed), or nil if more bytes are
    /// needed (nothing consumed).
    public func next(from buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var cursor = buffer
        guard let value = try parse(&cursor, depth: 0) else {
            // Incomplete: only its line lengths are bounded so far; a line that never ends
            // must not grow the buffer without end either.
            return nil
        }
        buffer = cursor
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try readLine(&buffer, skipping: 1) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(line)
        case UInt8(ascii: "-"):
            return .error(line)
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw RESPProtocolError("integer reply \(quoted(line)) is not a number") }
            return .integer(value)
        case UInt8(ascii: "$"):
            let length = try length(line, of: "bulk string", limit: limits.maxBulkBytes)
            guard length >= 0 else { return .bulkString(nil) }
            guard buffer.readableBytes >= length + 2 else { return nil }
            let bytes = buffer.readSlice(length: length)!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError("bulk string of \(length) bytes is not followed by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try length(line, of: "array", limit: limits.maxArrayElements)
            guard count >= 0 else { return .array(nil) }
            guard depth < limits.maxDepth else { throw RESPProtocolError("arrays nested deeper than \(limits.maxDepth)") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try parse(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RESPProtocolError("unknown type byte 0x\(String(type, radix: 16)) (RESP2 knows + - : $ *)")
        }
    }

    /// The line after `skipping` bytes, up to CRLF (both consumed), or nil if no CRLF yet.
    private func readLine(_ buffer: inout ByteBuffer, skipping: Int) throws(RESPProtocolError) -> String? {
        let view = buffer.readableBytesView.dropFirst(skipping)
        guard let cr = view.firstIndex(of: 0x0D) else {
            if view.count > limits.maxLineBytes {
                throw RESPProtocolError("a line of more than \(limits.maxLineBytes) bytes without CRLF")
            }
            return nil
        }
        let lineLength = cr - view.startIndex
        guard lineLength <= limits.maxLineBytes else {
            // The same words as for a line still arriving: the answer must not depend on
            // how the bytes were split.
            throw RESPProtocolError("a line of more than \(limits.maxLineBytes) bytes without CRLF")
        }
        guard view.index(after: cr) < view.endIndex else { return nil }
        guard view[view.index(after: cr)] == 0x0A else { throw RESPProtocolError("CR not followed by LF") }
        buffer.moveReaderIndex(forwardBy: skipping)
        let line = buffer.readString(length: lineLength)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private func length(_ line: String, of kind: String, limit: Int) throws(RESPProtocolError) -> Int {
        guard let value = Int(line), value >= -1 else {
            throw RESPProtocolError("\(kind) length \(quoted(line)) is not a number of -1 or more")
        }
        guard value <= limit else { throw RESPProtocolError("\(kind) of \(value) (the limit is \(limit))") }
        return value
    }

    private func quoted(_ text: String) -> String {
        text.count <= 40 ? "'\(text)'" : "'\(text.prefix(40))…' (\(text.utf8.count) bytes)"
    }
}
