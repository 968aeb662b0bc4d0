import TokenwireCore

/// Checks a JSON document as its text arrives, piece by piece, in one pass over each byte
/// (RFC 8259: one value, whitespace around it), and closes the document so far into valid
/// JSON on demand (`snapshot`).
///
/// A value type with no locks: `JSONOutputStage` owns one per call. It keeps the text
/// only when asked (`keepsText`: snapshots need it); past `maxBytes` of text, or past
/// `maxDepth` open containers, the document is invalid (a bound, not a parse error, and
/// the message says which).
///
/// How a snapshot is closed: the text up to the last point where cutting leaves a valid
/// prefix (`committed`: after a whole value or an opening bracket; never after a comma, a
/// key or a colon), then the closing brackets of the open containers. A string value being
/// written is kept, cut before an unfinished escape and closed with `"`; a number being
/// written is kept up to its longest valid prefix (`1.` shows as `1`); a key being
/// written, and a literal (`tru`), are not shown until they are whole.
struct JSONDocumentCheck {
    /// Which values the document may be.
    enum Root {
        /// Any JSON value.
        case anyValue
        /// An object (`ResponseFormat.Kind.jsonObject`).
        case object
    }

    private enum Container {
        case object
        case array
    }

    /// What the next structural byte may be.
    private enum Expect {
        /// A value (the document's, an array element, a member's).
        case value
        /// Just after `[`: a value or `]`.
        case valueOrArrayEnd
        /// Just after `{`: a key or `}`.
        case keyOrObjectEnd
        /// After a comma in an object: a key.
        case key
        case colon
        /// After a value inside a container: `,` or the container's end.
        case commaOrEnd
        /// After the document's value: only whitespace.
        case nothing
    }

    /// The token being read, if one is.
    private enum Token {
        case none
        case string(isKey: Bool, escape: Escape)
        case number(NumberState)
        case literal(expected: [UInt8], matched: Int)

        var isNone: Bool {
            if case .none = self { return true }
            return false
        }
    }

    private enum Escape: Equatable {
        case none
        /// After a backslash.
        case started
        /// Inside `\uXXXX`, with this many hex digits still to come and the value so far.
        case unicode(remaining: Int, value: UInt16)
    }

    /// The number grammar's states; `canEnd` says which may end a number.
    private enum NumberState {
        case minus, zero, integer, point, fraction, exponentMark, exponentSign, exponent

        var canEnd: Bool {
            switch self {
            case .zero, .integer, .fraction, .exponent: true
            case .minus, .point, .exponentMark, .exponentSign: false
            }
        }
    }

    let root: Root
    let keepsText: Bool
    let maxBytes: Int
    let maxDepth: Int

    /// The document so far (when `keepsText`).
    private(set) var text: [UInt8] = []
    /// Bytes seen, kept or not.
    private(set) var count = 0
    private var stack: [Container] = []
    private var expect = Expect.value
    private var token = Token.none
    /// Where a snapshot may cut (see the type's comment); nil before the first value starts.
    private var committed: Int?
    /// Inside a string value: where a snapshot may cut it (before an unfinished escape).
    private var stringSafeEnd = 0
    /// Inside a number: the end of its longest valid prefix so far, if it has one.
    private var numberSafeEnd: Int?
    /// The first problem, once there is one: the check is over.
    private(set) var failure: String?

    init(root: Root, keepsText: Bool, maxBytes: Int, maxDepth: Int = 512) {
        self.root = root
        self.keepsText = keepsText
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Reads the next piece of the document's text.
    mutating func append(_ piece: String) {
        guard failure == nil else { return }
        for byte in piece.utf8 {
            if count >= maxBytes {
                fail("the document is longer than \(maxBytes) bytes, the server's bound (--max-json-bytes)")
                return
            }
            consume(byte)
            count += 1
            if keepsText { text.append(byte) }
            if failure != nil { return }
        }
    }

    /// The verdict on the text read so far, taken as the whole answer.
    func verdict() -> JSONCheck {
        if let failure { return JSONCheck(verdict: .invalid, error: failure) }
        if case .nothing = expect, case .none = token { return JSONCheck(verdict: .valid) }
        if stack.isEmpty, case .number(let state) = token, state.canEnd { return JSONCheck(verdict: .valid) }
        if committed == nil, case .none = token {
            return JSONCheck(verdict: .incomplete, error: "the text ends before any JSON value (\(count) bytes of whitespace)")
        }
        let inside: String
        switch (token, stack.last) {
        case (.string(isKey: true, _), _): inside = "inside an object's key"
        case (.string, _): inside = "inside a string"
        case (.number, _), (.literal, _): inside = "inside a value"
        case (.none, .object): inside = "inside an object"
        case (.none, .array): inside = "inside an array"
        case (.none, nil): inside = "before the value"
        }
        return JSONCheck(
            verdict: .incomplete,
            error: "the text ends \(inside) at byte \(count), \(stack.count) container\(stack.count == 1 ? "" : "s") still open")
    }

    /// The document so far closed into valid JSON; nil before any value has begun or once
    /// the document is invalid (or when the text is not kept).
    func snapshot() -> String? {
        guard failure == nil, keepsText, let committed else { return nil }
        var end = committed
        var suffix: [UInt8] = []
        switch token {
        case .string(isKey: false, _):
            end = stringSafeEnd
            suffix.append(UInt8(ascii: "\""))
        case .number:
            if let numberSafeEnd { end = numberSafeEnd }
        case .none:
            // After a whole value, before any comma: everything read is a valid prefix.
            if case .commaOrEnd = expect { end = text.count }
            if case .nothing = expect { end = text.count }
        case .string(isKey: true, _), .literal:
            break
        }
        for container in stack.reversed() {
            suffix.append(container == .object ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
        // A document whose only value has not got far enough to show (`tr`, `-`).
        if suffix.isEmpty, end <= committed, stack.isEmpty, !(token.isNone && expect == .nothing) { return nil }
        return String(decoding: text[..<end] + suffix, as: UTF8.self)
    }

    // MARK: Reading one byte

    private mutating func fail(_ message: String) {
        if failure == nil { failure = message }
    }

    private mutating func consume(_ byte: UInt8) {
        switch token {
        case .string(let isKey, let escape):
            consumeInString(byte, isKey: isKey, escape: escape)
            return
        case .number(let state):
            if let next = Self.numberStep(state, byte) {
                token = .number(next)
                if next.canEnd { numberSafeEnd = count + 1 }
                return
            }
            guard state.canEnd else {
                fail("a number is malformed at byte \(count)")
                return
            }
            token = .none
            valueEnded(at: count)
        // The byte that ended the number is read below, as structure.
        case .literal(let expected, let matched):
            guard byte == expected[matched] else {
                fail("unexpected \(Self.describe(byte)) at byte \(count) (in a literal)")
                return
            }
            if matched + 1 == expected.count {
                token = .none
                valueEnded(at: count + 1)
            } else {
                token = .literal(expected: expected, matched: matched + 1)
            }
            return
        case .none:
            break
        }
        consumeStructure(byte)
    }

    private mutating func consumeStructure(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            return
        default:
            break
        }
        switch expect {
        case .value, .valueOrArrayEnd:
            if byte == UInt8(ascii: "]"), case .valueOrArrayEnd = expect {
                closeContainer(.array)
                return
            }
            beginValue(byte)
        case .keyOrObjectEnd, .key:
            if byte == UInt8(ascii: "}"), case .keyOrObjectEnd = expect {
                closeContainer(.object)
            } else if byte == UInt8(ascii: "\"") {
                token = .string(isKey: true, escape: .none)
            } else {
                fail("expected an object key (a string) at byte \(count), found \(Self.describe(byte))")
            }
        case .colon:
            guard byte == UInt8(ascii: ":") else {
                fail("expected ':' after an object key at byte \(count), found \(Self.describe(byte))")
                return
            }
            expect = .value
        case .commaOrEnd:
            switch (byte, stack.last) {
            case (UInt8(ascii: ","), .object): expect = .key
            case (UInt8(ascii: ","), .array): expect = .value
            case (UInt8(ascii: "}"), .object): closeContainer(.object)
            case (UInt8(ascii: "]"), .array): closeContainer(.array)
            default: fail("expected ',' or the end of the \(stack.last == .object ? "object" : "array") at byte \(count), found \(Self.describe(byte))")
            }
        case .nothing:
            fail("text after the JSON document at byte \(count): \(Self.describe(byte))")
        }
    }

    private mutating func beginValue(_ byte: UInt8) {
        if stack.isEmpty, committed == nil, root == .object, byte != UInt8(ascii: "{") {
            fail("the document is not a JSON object: it starts with \(Self.describe(byte)) at byte \(count)")
            return
        }
        if committed == nil { committed = count }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard stack.count < maxDepth else {
                fail("the document nests deeper than \(maxDepth) containers at byte \(count)")
                return
            }
            stack.append(byte == UInt8(ascii: "{") ? .object : .array)
            expect = byte == UInt8(ascii: "{") ? .keyOrObjectEnd : .valueOrArrayEnd
            committed = count + 1
        case UInt8(ascii: "\""):
            token = .string(isKey: false, escape: .none)
            stringSafeEnd = count + 1
        case UInt8(ascii: "-"):
            token = .number(.minus)
            numberSafeEnd = nil
        case UInt8(ascii: "0"):
            token = .number(.zero)
            numberSafeEnd = count + 1
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            token = .number(.integer)
            numberSafeEnd = count + 1
        case UInt8(ascii: "t"):
            token = .literal(expected: Self.trueBytes, matched: 1)
        case UInt8(ascii: "f"):
            token = .literal(expected: Self.falseBytes, matched: 1)
        case UInt8(ascii: "n"):
            token = .literal(expected: Self.nullBytes, matched: 1)
        default:
            fail("expected a JSON value at byte \(count), found \(Self.describe(byte))")
        }
    }

    private mutating func consumeInString(_ byte: UInt8, isKey: Bool, escape: Escape) {
        switch escape {
        case .none:
            switch byte {
            case UInt8(ascii: "\""):
                token = .none
                if isKey {
                    expect = .colon
                } else {
                    valueEnded(at: count + 1)
                }
            case UInt8(ascii: "\\"):
                token = .string(isKey: isKey, escape: .started)
            case 0..<0x20:
                fail("a control character (\(Self.describe(byte))) inside a string at byte \(count): JSON wants it escaped")
            default:
                if !isKey { stringSafeEnd = count + 1 }
            }
        case .started:
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                token = .string(isKey: isKey, escape: .none)
                if !isKey { stringSafeEnd = count + 1 }
            case UInt8(ascii: "u"):
                token = .string(isKey: isKey, escape: .unicode(remaining: 4, value: 0))
            default:
                fail("an invalid escape \\\(Self.describe(byte)) inside a string at byte \(count)")
            }
        case .unicode(let remaining, let value):
            guard let digit = Self.hexValue(byte) else {
                fail("an invalid \\u escape inside a string at byte \(count): \(Self.describe(byte)) is not a hex digit")
                return
            }
            let value = value << 4 | UInt16(digit)
            if remaining == 1 {
                token = .string(isKey: isKey, escape: .none)
                // A snapshot never ends between the two halves of a surrogate pair.
                if !isKey, !(0xD800...0xDBFF).contains(value) { stringSafeEnd = count + 1 }
            } else {
                token = .string(isKey: isKey, escape: .unicode(remaining: remaining - 1, value: value))
            }
        }
    }

    /// A value ended just before `end`: it is committed, and what may follow depends on
    /// where it sits.
    private mutating func valueEnded(at end: Int) {
        committed = end
        expect = stack.isEmpty ? .nothing : .commaOrEnd
    }

    private mutating func closeContainer(_ container: Container) {
        stack.removeLast()
        valueEnded(at: count + 1)
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)

    private static func numberStep(_ state: NumberState, _ byte: UInt8) -> NumberState? {
        let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        switch state {
        case .minus:
            if byte == UInt8(ascii: "0") { return .zero }
            return digit ? .integer : nil
        case .zero:
            if byte == UInt8(ascii: ".") { return .point }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return .exponentMark }
            return nil
        case .integer:
            if digit { return .integer }
            if byte == UInt8(ascii: ".") { return .point }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return .exponentMark }
            return nil
        case .point:
            return digit ? .fraction : nil
        case .fraction:
            if digit { return .fraction }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return .exponentMark }
            return nil
        case .exponentMark:
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") { return .exponentSign }
            return digit ? .exponent : nil
        case .exponentSign, .exponent:
            return digit ? .exponent : nil
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A byte as a message shows it: `'x'` when printable ASCII, else its value.
    private static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7f).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
