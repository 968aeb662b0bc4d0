/// A compiled regular expression shared by every call that uses its filter.
///
/// `Regex<AnyRegexOutput>` is not `Sendable` only because its output type (`AnyRegexOutput`,
/// the captures of a match) is not; the regex itself is an immutable value whose program is
/// compiled once and published with an atomic compare-and-swap (swift-experimental-string-
/// processing, `Regex.Program`), so matching from several threads at once is safe. Matches
/// never leave the thread that made them.
struct SharedRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        regex = try Regex(pattern)
    }
}
