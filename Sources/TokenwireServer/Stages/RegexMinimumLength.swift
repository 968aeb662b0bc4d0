/// The fewest characters any match of a regular expression can have: a filter whose
/// shortest match is longer than its hold-back window could never catch anything, so such
/// a filter is refused at start (`OutputFilters`).
///
/// Reads the syntax filters use (literals, escapes, classes, groups of every kind,
/// alternation, `* + ? {n} {n,} {n,m}` with lazy and possessive forms, anchors and
/// lookarounds). Constructs it does not model count as zero characters (a back-reference),
/// so the result is never more than the true minimum.
enum RegexMinimumLength {
    static func of(_ pattern: String) -> Int {
        var parser = Parser(characters: Array(pattern))
        return parser.alternation()
    }

    private struct Parser {
        let characters: [Character]
        var position = 0

        var atEnd: Bool { position >= characters.count }

        func peek(_ offset: Int = 0) -> Character? {
            position + offset < characters.count ? characters[position + offset] : nil
        }

        /// `a|b|c`: the shortest branch.
        mutating func alternation() -> Int {
            var shortest = sequence()
            while peek() == "|" {
                position += 1
                shortest = min(shortest, sequence())
            }
            return shortest
        }

        /// Atoms one after another, up to `|`, `)` or the end: their sum.
        mutating func sequence() -> Int {
            var total = 0
            while let next = peek(), next != "|", next != ")" {
                let atom = self.atom()
                total += atom * quantifierMinimum()
            }
            return total
        }

        /// The fewest repetitions the quantifier after an atom asks for (1 without one).
        mutating func quantifierMinimum() -> Int {
            guard let next = peek() else { return 1 }
            var minimum: Int
            switch next {
            case "*", "?":
                position += 1
                minimum = 0
            case "+":
                position += 1
                minimum = 1
            case "{":
                guard let counted = countedRepetition() else { return 1 }
                minimum = counted
            default:
                return 1
            }
            if let mode = peek(), mode == "?" || mode == "+" { position += 1 }  // lazy, possessive
            return minimum
        }

        /// `{n}`, `{n,}`, `{n,m}` (a `{` that is not one is a literal).
        mutating func countedRepetition() -> Int? {
            var end = position + 1
            var digits = ""
            while end < characters.count, characters[end].isASCII, characters[end].isNumber {
                digits.append(characters[end])
                end += 1
            }
            guard let minimum = Int(digits) else { return nil }
            if end < characters.count, characters[end] == "," {
                end += 1
                while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
            }
            guard end < characters.count, characters[end] == "}" else { return nil }
            position = end + 1
            return minimum
        }

        mutating func atom() -> Int {
            let character = characters[position]
            position += 1
            switch character {
            case "^", "$":
                return 0
            case "(":
                return group()
            case "[":
                skipClass()
                return 1
            case "\\":
                return escape()
            default:
                return 1
            }
        }

        /// After `(`: the group's minimum, or 0 for lookarounds and inline flags.
        mutating func group() -> Int {
            var zeroWidth = false
            if peek() == "?" {
                position += 1
                switch peek() {
                case "=", "!":
                    zeroWidth = true
                    position += 1
                case "<" where peek(1) == "=" || peek(1) == "!":
                    zeroWidth = true
                    position += 2
                case ":", ">", "|":
                    position += 1
                case "<", "P", "'":
                    // A named group: skip to the end of its name.
                    while let next = peek(), next != ">", next != "'" { position += 1 }
                    position += 1
                default:
                    // Inline flags: (?i) alone is zero-width; (?i:...) is a group.
                    while let next = peek(), next != ")", next != ":" { position += 1 }
                    if peek() == ")" {
                        position += 1
                        return 0
                    }
                    position += 1
                }
            }
            let inner = alternation()
            if peek() == ")" { position += 1 }
            return zeroWidth ? 0 : inner
        }

        /// After `[`: up to its closing `]` (nested POSIX classes and escapes included).
        mutating func skipClass() {
            if peek() == "^" { position += 1 }
            if peek() == "]" { position += 1 }
            while let next = peek() {
                position += 1
                switch next {
                case "\\":
                    position += 1
                case "[":
                    skipClass()
                case "]":
                    return
                default:
                    break
                }
            }
        }

        /// After `\`.
        mutating func escape() -> Int {
            guard let next = peek() else { return 1 }
            position += 1
            switch next {
            case "b", "B", "A", "z", "Z", "G", "K":
                return 0
            case "Q":
                // A literal run up to \E.
                var count = 0
                while !atEnd, !(peek() == "\\" && peek(1) == "E") {
                    position += 1
                    count += 1
                }
                if !atEnd { position += 2 }
                return count
            case "p", "P", "x", "N", "u", "o":
                if peek() == "{" {
                    while let inside = peek(), inside != "}" { position += 1 }
                    position += 1
                } else if next == "u" {
                    position = min(characters.count, position + 4)
                } else if next == "x" {
                    position = min(characters.count, position + 2)
                } else if next == "p" || next == "P" {
                    position += 1
                }
                return 1
            case "k", "g":
                // A back-reference: unknown length, counted as none.
                let closers: [Character: Character] = ["<": ">", "{": "}", "'": "'"]
                if let open = peek(), let close = closers[open] {
                    position += 1
                    while let inside = peek(), inside != close { position += 1 }
                    position += 1
                }
                return 0
            case "1"..."9":
                while let digit = peek(), digit.isASCII, digit.isNumber { position += 1 }
                return 0
            default:
                return 1
            }
        }
    }
}
