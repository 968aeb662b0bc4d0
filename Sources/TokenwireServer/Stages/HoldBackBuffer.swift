/// Buffer-and-release for one run of text (a call's text, its reasoning, or one tool
/// call's arguments) under a set of filters, as a value: text goes in as it arrives; what
/// can no longer be part of a match comes out at once; the last `window` characters wait.
///
/// - A deny match anywhere in what is held ends the run: the text before the match is
///   released and nothing of the match or after it ever is.
/// - Redact matches are replaced once they are whole: a match that reaches into the held
///   tail waits there (it may still grow), so no part of it is released unreplaced.
///
/// Matches longer than the window are not guaranteed (a match can only be seen whole
/// while it is held); the filters' configuration refuses patterns that could never fit.
struct HoldBackBuffer {
    enum Outcome: Equatable {
        /// Text to pass on now (may be empty).
        case release(String)
        /// A deny filter matched: pass on this text, then end the call.
        case deny(releasing: String, filter: String)
    }

    struct Rule {
        var filter: String
        var regex: SharedRegex
        /// nil denies; else the replacement.
        var replacement: String?
    }

    let rules: [Rule]
    /// Characters held back.
    let window: Int
    private(set) var held = ""

    init(rules: [Rule], window: Int) {
        self.rules = rules
        self.window = window
    }

    /// Adds text that arrived.
    mutating func append(_ text: String) -> Outcome {
        held += text
        let present = ByteSet(held)
        if let denied = firstDenyMatch(present) { return deny(at: denied, present) }
        var cut = held.index(held.endIndex, offsetBy: -window, limitedBy: held.startIndex) ?? held.startIndex
        // A redact match that reaches past the cut is held whole: it may still grow.
        let matches = redactMatches(present)
        var moved = true
        while moved {
            moved = false
            for match in matches where match.range.lowerBound < cut && match.range.upperBound > cut {
                cut = match.range.lowerBound
                moved = true
            }
        }
        let released = redacted(upTo: cut, matches: matches)
        held = String(held[cut...])
        return .release(released)
    }

    /// The run ended: everything held is released (a deny match in it still denies).
    mutating func finish() -> Outcome {
        let present = ByteSet(held)
        if let denied = firstDenyMatch(present) { return deny(at: denied, present) }
        let released = redacted(upTo: held.endIndex, matches: redactMatches(present))
        held = ""
        return .release(released)
    }

    /// The earliest deny match; `present` (the held text's bytes) skips the patterns whose
    /// required characters are missing.
    private func firstDenyMatch(_ present: ByteSet) -> (range: Range<String.Index>, filter: String)? {
        var first: (range: Range<String.Index>, filter: String)?
        for rule in rules where rule.replacement == nil && rule.regex.required.isSatisfied(by: present) {
            if let range = rule.regex.firstMatch(in: held), first.map({ range.lowerBound < $0.range.lowerBound }) ?? true {
                first = (range, rule.filter)
            }
        }
        return first
    }

    private mutating func deny(at match: (range: Range<String.Index>, filter: String), _ present: ByteSet) -> Outcome {
        let released = redacted(upTo: match.range.lowerBound, matches: redactMatches(present))
        held = ""
        return .deny(releasing: released, filter: match.filter)
    }

    /// Every redact match in what is held, found in the whole held text, with its
    /// replacement, in order (overlapping matches: the earliest wins when replacing).
    private func redactMatches(_ present: ByteSet) -> [(range: Range<String.Index>, replacement: String)] {
        var found: [(range: Range<String.Index>, replacement: String)] = []
        for rule in rules {
            guard let replacement = rule.replacement, rule.regex.required.isSatisfied(by: present) else { continue }
            for range in rule.regex.matches(in: held) { found.append((range, replacement)) }
        }
        if found.count > 1 { found.sort { $0.range.lowerBound < $1.range.lowerBound } }
        return found
    }

    /// The held text before `end`, with the matches that end by `end` replaced.
    private func redacted(upTo end: String.Index, matches: [(range: Range<String.Index>, replacement: String)]) -> String {
        guard matches.contains(where: { $0.range.upperBound <= end }) else { return String(held[..<end]) }
        var output = ""
        var position = held.startIndex
        for match in matches where match.range.upperBound <= end && match.range.lowerBound >= position {
            output += held[position..<match.range.lowerBound]
            output += match.replacement
            position = match.range.upperBound
        }
        output += held[position..<end]
        return output
    }
}
