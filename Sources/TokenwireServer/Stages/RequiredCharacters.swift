import Foundation

/// The ASCII characters every match of a regular expression must contain: a filter skips
/// its search (the whole cost of a filter) when the held text lacks one of them, as grep
/// and RE2 skip text that lacks a pattern's required literal.
///
/// Only what is certain counts: literal characters (and escaped punctuation) in the
/// pattern's top-level sequence that must occur at least once. A top-level alternation,
/// extended mode `(?x)` or a `\Q…\E` quote gives no requirement; characters inside groups
/// and classes are not counted. With a case-insensitive flag anywhere, letters are
/// compared case-folded.
struct RequiredCharacters: Sendable, Hashable {
    /// Required bytes (ASCII), letters lowercased when `caseInsensitive`.
    let bytes: [UInt8]
    let caseInsensitive: Bool

    init(pattern: String) {
        let characters = Array(pattern.unicodeScalars)
        let text = pattern
        caseInsensitive = text.contains("(?i") || text.range(of: #"\(\?[a-zA-Z]*i"#, options: .regularExpression) != nil
        guard !text.contains("(?x"), !text.contains("\\Q") else {
            bytes = []
            return
        }
        var required: [UInt8] = []
        var depth = 0
        var position = 0
        var lastLiteral: UInt8?
        var topLevelAlternation = false
        func quantifierAllowsZero(at index: Int) -> Bool {
            guard index < characters.count else { return false }
            switch characters[index] {
            case "*", "?": return true
            case "{":
                // {0}, {0,}, {0,n} allow none.
                var digits = ""
                var scan = index + 1
                while scan < characters.count, characters[scan].properties.numericType != nil, characters[scan].isASCII {
                    digits.unicodeScalars.append(characters[scan])
                    scan += 1
                }
                return digits.isEmpty || Int(digits) == 0
            default: return false
            }
        }
        while position < characters.count {
            let scalar = characters[position]
            lastLiteral = nil
            switch scalar {
            case "\\":
                position += 1
                guard position < characters.count else { break }
                let escaped = characters[position]
                if escaped.isASCII, !escaped.properties.isAlphabetic, escaped.properties.numericType == nil {
                    // Escaped punctuation is a literal.
                    lastLiteral = UInt8(escaped.value)
                } else {
                    // Classes, anchors, references and code points: skip their arguments.
                    position = Self.endOfEscape(escaped, after: position, in: characters)
                }
            case "[":
                position += 1
                if position < characters.count, characters[position] == "^" { position += 1 }
                if position < characters.count, characters[position] == "]" { position += 1 }
                var level = 1
                while position < characters.count {
                    let inside = characters[position]
                    if inside == "\\" {
                        position += 2
                        continue
                    }
                    if inside == "[" {
                        level += 1
                    } else if inside == "]" {
                        level -= 1
                        if level == 0 { break }
                    }
                    position += 1
                }
            case "(":
                depth += 1
            case ")":
                depth -= 1
            case "|":
                if depth == 0 { topLevelAlternation = true }
            case "{":
                // A counted repetition's digits are not literals: skip to its "}".
                var end = position + 1
                while end < characters.count, characters[end] != "}", characters[end] == "," || characters[end].properties.numericType != nil {
                    end += 1
                }
                if end < characters.count, characters[end] == "}" { position = end }
            case ".", "^", "$", "*", "+", "?", "}":
                break
            default:
                if scalar.isASCII { lastLiteral = UInt8(scalar.value) }
            }
            position += 1
            if let literal = lastLiteral, depth == 0, !quantifierAllowsZero(at: position) {
                required.append(literal)
            }
        }
        if topLevelAlternation {
            bytes = []
            return
        }
        let folded = caseInsensitive ? required.map(Self.lowercased) : required
        bytes = Array(Set(folded)).sorted()
    }

    /// The index of the last scalar of an escape `\\escaped` whose letter or digit is at
    /// `index` (`\\p{L}`, `\\x41`, `\\u00e9`, `\\k<name>`, `\\12` take more than one).
    private static func endOfEscape(_ escaped: Unicode.Scalar, after index: Int, in characters: [Unicode.Scalar]) -> Int {
        func through(_ close: Unicode.Scalar, from start: Int) -> Int {
            var end = start
            while end < characters.count, characters[end] != close { end += 1 }
            return min(end, characters.count - 1)
        }
        let next = index + 1 < characters.count ? characters[index + 1] : nil
        switch escaped {
        case "p", "P", "N", "x", "k", "g":
            if next == "{" { return through("}", from: index + 1) }
            if next == "<" { return through(">", from: index + 1) }
            switch escaped {
            case "x": return min(index + 2, characters.count - 1)
            case "p", "P": return min(index + 1, characters.count - 1)
            default: return index
            }
        case "u": return min(index + 4, characters.count - 1)
        case "U": return min(index + 8, characters.count - 1)
        case "c": return min(index + 1, characters.count - 1)
        default:
            if escaped.properties.numericType != nil {
                var end = index
                while end + 1 < characters.count, characters[end + 1].properties.numericType != nil { end += 1 }
                return end
            }
            return index
        }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// Whether `present` (the held text's bytes, see `ByteSet`) has every required byte.
    func isSatisfied(by present: ByteSet) -> Bool {
        bytes.allSatisfy { caseInsensitive ? present.containsFolded($0) : present.contains($0) }
    }
}

/// Which bytes occur in a text: one pass over its UTF-8, then membership in O(1).
struct ByteSet {
    private var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            for byte in buffer { insert(byte) }
        }
    }

    private mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: bits.0 |= bit
        case 1: bits.1 |= bit
        case 2: bits.2 |= bit
        default: bits.3 |= bit
        }
    }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return bits.0 & bit != 0
        case 1: return bits.1 & bit != 0
        case 2: return bits.2 & bit != 0
        default: return bits.3 & bit != 0
        }
    }

    /// Contains `byte` (a lowercase letter or other ASCII) in either case.
    func containsFolded(_ byte: UInt8) -> Bool {
        if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) { return contains(byte) || contains(byte & ~0x20) }
        return contains(byte)
    }
}
