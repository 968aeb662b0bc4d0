/// A strict RFC 8259 JSON parser: UTF-8 text in, a `JSONDocument` (a flat tape of nodes) out.
///
/// What it accepts, exactly: one JSON value with optional whitespace (space, tab, LF, CR)
/// around it, after an optional UTF-8 byte-order mark (Foundation skips one too). Rejected:
/// trailing characters, trailing commas, leading zeros, `1.`, `.5`, `+1`, control characters
/// (U+0000–U+001F) inside strings, unknown escapes, `\u` escapes that are not four hex
/// digits, lone surrogates (`\uD800` without a following `\uDC00`–`\uDFFF`, or a lone low
/// surrogate), as Foundation's `JSONDecoder` rejects them when it decodes such a string; and
/// arrays and objects nested deeper than `maximumDepth` (512, Foundation's limit).
/// The input is a Swift `String`, so it is valid UTF-8 by construction.
///
/// Strings without escapes and numbers are only delimited here; `JSONDocument` converts them
/// on demand. Strings with escapes are unescaped here, while the bytes are at hand.
///
/// - Important: this is the only JSON type that holds a raw pointer. `bytes` points
///   into the source string's UTF-8 storage and is valid only during `parse(_:)`, which
///   creates the parser, runs it and drops it inside `String.withUTF8`. Every read checks
///   `position` against `bytes.count` first.
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0
    private var nodes: [JSONNode] = []
    private var unescapedStrings: [String] = []

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses `text` as one JSON value.
    ///
    /// - Returns: the document, which keeps `text` to convert strings and numbers on demand.
    /// - Throws: `JSONParseError` if `text` is not exactly one JSON value.
    static func parse(_ text: String) throws(JSONParseError) -> JSONDocument {
        var source = text
        let result = source.withUTF8 { bytes in
            var parser = JSONParser(bytes: bytes)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        let (nodes, unescapedStrings) = try result.get()
        return JSONDocument(source: source, nodes: nodes, unescapedStrings: unescapedStrings)
    }

    private mutating func parseDocument() throws(JSONParseError) -> ([JSONNode], [String]) {
        guard bytes.count < Int(Int32.max) else { throw failure(.tooLarge) }
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        nodes.reserveCapacity(16 + bytes.count / 12)
        try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw failure(.trailingCharacters) }
        return (nodes, unescapedStrings)
    }

    // MARK: Values

    private mutating func parseValue() throws(JSONParseError) {
        skipWhitespace()
        guard position < bytes.count else { throw failure(.unexpectedEnd) }
        switch bytes[position] {
        case UInt8(ascii: "\""): try parseString(isKey: false)
        case UInt8(ascii: "{"): try parseObject()
        case UInt8(ascii: "["): try parseArray()
        case UInt8(ascii: "t"): try parseLiteral("true", as: .true)
        case UInt8(ascii: "f"): try parseLiteral("false", as: .false)
        case UInt8(ascii: "n"): try parseLiteral("null", as: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        default: throw failure(.unexpectedCharacter)
        }
    }

    private mutating func parseLiteral(_ literal: StaticString, as kind: JSONNode.Kind) throws(JSONParseError) {
        let length = literal.utf8CodeUnitCount
        guard bytes.count - position >= length else { throw failure(.unexpectedEnd) }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: length)
        for offset in 0..<length where bytes[position + offset] != expected[offset] {
            position += offset
            throw failure(.unexpectedCharacter)
        }
        position += length
        nodes.append(JSONNode(kind: kind))
    }

    private mutating func parseObject() throws(JSONParseError) {
        let index = try openContainer(.object)
        var count = 0
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                guard position < bytes.count else { throw failure(.unexpectedEnd) }
                guard bytes[position] == UInt8(ascii: "\"") else { throw failure(.unexpectedCharacter) }
                try parseString(isKey: true)
                try expect(UInt8(ascii: ":"))
                try parseValue()
                count += 1
                if try closesAfterSeparator(UInt8(ascii: "}")) { break }
            }
        }
        closeContainer(at: index, count: count)
    }

    private mutating func parseArray() throws(JSONParseError) {
        let index = try openContainer(.array)
        var count = 0
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                try parseValue()
                count += 1
                if try closesAfterSeparator(UInt8(ascii: "]")) { break }
            }
        }
        closeContainer(at: index, count: count)
    }

    private mutating func openContainer(_ kind: JSONNode.Kind) throws(JSONParseError) -> Int {
        guard depth < Self.maximumDepth else { throw failure(.tooDeeplyNested) }
        depth += 1
        position += 1
        nodes.append(JSONNode(kind: kind))
        return nodes.count - 1
    }

    private mutating func closeContainer(at index: Int, count: Int) {
        depth -= 1
        nodes[index].start = count
        nodes[index].end = nodes.count
    }

    /// Consumes `,` (false: another member follows) or `closer` (true).
    private mutating func closesAfterSeparator(_ closer: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw failure(.unexpectedEnd) }
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: ",") { return false }
        if byte == closer { return true }
        position -= 1
        throw failure(.unexpectedCharacter)
    }

    private mutating func expect(_ byte: UInt8) throws(JSONParseError) {
        skipWhitespace()
        guard position < bytes.count else { throw failure(.unexpectedEnd) }
        guard bytes[position] == byte else { throw failure(.unexpectedCharacter) }
        position += 1
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private func failure(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(reason: reason, offset: position)
    }
}

// MARK: Strings

extension JSONParser {
    /// Delimits the string at `position` (its opening quote); unescapes it if it has escapes.
    private mutating func parseString(isKey: Bool) throws(JSONParseError) {
        position += 1
        let start = position
        skipPlainStringBytes()
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let payload = isKey ? JSONNode.packedPrefix(UnsafeBufferPointer(rebasing: bytes[start..<position])) : 0
                nodes.append(JSONNode(kind: .string, start: start, end: position, payload: payload))
                position += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                position = start
                return try parseEscapedString()
            }
            guard byte >= 0x20 else { throw failure(.controlCharacterInString) }
            position += 1
        }
        throw failure(.unexpectedEnd)
    }

    /// Skips string bytes eight at a time while none of the eight is `"`, `\` or a control
    /// character; the byte loop after it finds which one stopped it.
    @inline(__always)
    private mutating func skipPlainStringBytes() {
        let raw = UnsafeRawBufferPointer(bytes)
        while bytes.count - position >= 8 {
            guard !Self.hasSpecialStringByte(raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)) else { return }
            position += 8
        }
    }

    /// Whether any byte of `word` is `"`, `\` or below 0x20 (the SWAR "has a zero byte" test,
    /// exact as a yes/no answer: a borrow only reaches bytes above one that matched).
    @inline(__always)
    private static func hasSpecialStringByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quoteFound = (quote &- ones) & ~quote
        let backslashFound = (backslash &- ones) & ~backslash
        let controlFound = (word &- ones &* 0x20) & ~word
        return (quoteFound | backslashFound | controlFound) & (ones &* 0x80) != 0
    }

    /// Unescapes the string whose text starts at `position`, up to its closing quote.
    private mutating func parseEscapedString() throws(JSONParseError) {
        let start = position
        var text: [UInt8] = []
        text.reserveCapacity(64)
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                let index = unescapedStrings.count
                unescapedStrings.append(String(decoding: text, as: UTF8.self))
                nodes.append(JSONNode(kind: .string, flags: JSONNode.Flags.escaped, start: start, end: position - 1, payload: UInt64(index)))
                return
            case UInt8(ascii: "\\"):
                try appendEscape(to: &text)
            case 0x00..<0x20:
                position -= 1
                throw failure(.controlCharacterInString)
            default:
                text.append(byte)
            }
        }
        throw failure(.unexpectedEnd)
    }

    /// Appends the escape after a backslash (RFC 8259 §7) as UTF-8.
    private mutating func appendEscape(to text: inout [UInt8]) throws(JSONParseError) {
        guard position < bytes.count else { throw failure(.unexpectedEnd) }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"): appendUTF8(try unicodeEscapeScalar(), to: &text)
        default:
            position -= 1
            throw failure(.invalidEscape)
        }
    }

    /// The scalar of a `\uXXXX` escape (the `\u` consumed), joining a surrogate pair.
    private mutating func unicodeEscapeScalar() throws(JSONParseError) -> UInt32 {
        let first = try hexQuad()
        switch first {
        case 0xD800...0xDBFF:
            guard bytes.count - position >= 6,
                bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { throw failure(.loneSurrogate) }
            position += 2
            let second = try hexQuad()
            guard (0xDC00...0xDFFF).contains(second) else { throw failure(.loneSurrogate) }
            return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        case 0xDC00...0xDFFF:
            throw failure(.loneSurrogate)
        default:
            return first
        }
    }

    private mutating func hexQuad() throws(JSONParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure(.unexpectedEnd) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure(.invalidEscape)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to text: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            text.append(UInt8(scalar))
        case 0x80..<0x800:
            text.append(UInt8(0xC0 | scalar >> 6))
            text.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            text.append(UInt8(0xE0 | scalar >> 12))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        default:
            text.append(UInt8(0xF0 | scalar >> 18))
            text.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

// MARK: Numbers

extension JSONParser {
    /// Delimits the number at `position` (RFC 8259 §6), and takes its value if it is an
    /// integer that fits `Int64`.
    private mutating func parseNumber() throws(JSONParseError) {
        let start = position
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw failure(.invalidNumber) }
        var magnitude: UInt64 = 0
        var overflowed = false
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, isDigit(bytes[position]) {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[position] &- UInt8(ascii: "0")))
                magnitude = sum
                overflowed = overflowed || overflow1 || overflow2
                position += 1
            }
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try skipDigits()
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            try skipDigits()
        }
        nodes.append(Self.numberNode(start: start, end: position, isInteger: isInteger, negative: negative, magnitude: overflowed ? nil : magnitude))
    }

    private static func numberNode(start: Int, end: Int, isInteger: Bool, negative: Bool, magnitude: UInt64?) -> JSONNode {
        guard isInteger else { return JSONNode(kind: .number, start: start, end: end) }
        var node = JSONNode(kind: .number, flags: JSONNode.Flags.integer, start: start, end: end)
        guard let magnitude, magnitude != 0 || !negative else { return node }
        if negative, magnitude <= UInt64(Int64.max) + 1 {
            node.flags |= JSONNode.Flags.fitsInt64
            node.payload = 0 &- magnitude
        } else if !negative, magnitude <= UInt64(Int64.max) {
            node.flags |= JSONNode.Flags.fitsInt64
            node.payload = magnitude
        }
        return node
    }

    /// One or more digits.
    private mutating func skipDigits() throws(JSONParseError) {
        guard position < bytes.count, isDigit(bytes[position]) else { throw failure(.invalidNumber) }
        repeat { position += 1 } while position < bytes.count && isDigit(bytes[position])
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}
