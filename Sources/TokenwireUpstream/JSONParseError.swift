/// Why `JSONParser` rejected a text, and the byte offset where it noticed.
///
/// The dialects never show it: any parse or decode failure becomes their INTERNAL
/// "malformed JSON" error. It exists for tests and for debugging.
struct JSONParseError: Error, Hashable, CustomStringConvertible {
    /// The kinds of malformed input.
    enum Reason: Hashable, Sendable {
        case unexpectedEnd
        case unexpectedCharacter
        case invalidNumber
        case invalidEscape
        case loneSurrogate
        case controlCharacterInString
        case tooDeeplyNested
        case trailingCharacters
        case tooLarge
    }

    /// What was wrong.
    var reason: Reason
    /// The byte offset in the UTF-8 text.
    var offset: Int

    var description: String { "\(reason) at byte \(offset)" }
}
