/// One output filter as configured (the providers file's `filters`): regular expressions
/// that either end the call (`deny`) or are replaced (`redact`), and the window of text
/// held back so a match split across events is still caught. The server compiles and
/// checks it (`OutputFilters`); this is the plain value both the relay's configuration
/// and the server share.
public struct OutputFilterSpec: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// A match ends the call: the text before it is released, then
        /// `Finish { reason: "content_filter" }`.
        case deny
        /// Each match is replaced by `replacement`; the stream goes on.
        case redact(replacement: String)
    }

    /// The filter's name in the configuration, for messages.
    public var name: String
    /// Regular expressions (Swift `Regex` syntax, which accepts PCRE's common forms such as
    /// `(?i)`, `\b`, `\d`, `\s`, classes and counted repetitions).
    public var patterns: [String]
    public var action: Action
    /// Characters of text (and of reasoning) held back: the longest match the filter is
    /// guaranteed to catch.
    public var windowCharacters: Int
    /// Whether tool-call arguments are filtered too.
    public var toolArguments: Bool

    public init(name: String, patterns: [String], action: Action, windowCharacters: Int, toolArguments: Bool = false) {
        self.name = name
        self.patterns = patterns
        self.action = action
        self.windowCharacters = windowCharacters
        self.toolArguments = toolArguments
    }
}
