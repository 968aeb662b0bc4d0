import Foundation

/// A compiled regular expression shared by every call that uses its filter: ICU's engine
/// through Foundation's `NSRegularExpression` (PCRE-like syntax: `(?i)`, `\b`, `\d`, `\s`,
/// classes, `{n,m}`, lookarounds), which is immutable and safe to match from several
/// threads at once.
///
/// Not Swift's `Regex`: on the relay's path it was the whole cost of a filter (22-26 µs per
/// search of a 100-character window against ICU's 1-7 µs: docs/BENCHMARKS.md, "Output
/// filters").
struct SharedRegex: @unchecked Sendable {  // NSRegularExpression is immutable (documented thread-safe)
    private let expression: NSRegularExpression
    /// Characters every match contains: text without one of them is not searched.
    let required: RequiredCharacters

    init(_ pattern: String) throws {
        expression = try NSRegularExpression(pattern: pattern)
        required = RequiredCharacters(pattern: pattern)
    }

    /// The ranges of every match in `text` (empty matches skipped), in order.
    func matches(in text: String) -> [Range<String.Index>] {
        let whole = NSRange(text.startIndex..<text.endIndex, in: text)
        return expression.matches(in: text, range: whole).compactMap { match in
            match.range.length > 0 ? Range(match.range, in: text) : nil
        }
    }

    /// The first match's range in `text`.
    func firstMatch(in text: String) -> Range<String.Index>? {
        let whole = NSRange(text.startIndex..<text.endIndex, in: text)
        return expression.firstMatch(in: text, range: whole).flatMap { Range($0.range, in: text) }
    }

    /// Whether the pattern matches empty text.
    var matchesEmptyText: Bool {
        expression.firstMatch(in: "", range: NSRange(location: 0, length: 0)) != nil
    }
}
