/// A piece of caller input quoted in an error message, cut short when it is long.
///
/// Error messages name what was wrong ("unknown model 'gpt-5o'"), but a peer controls that
/// input: a 64 KiB model name must not become a 64 KiB status message.
public enum ErrorExcerpt {
    /// The most characters of one input quoted in a message.
    public static let maxCharacters = 200

    /// `value` in single quotes; a longer one is cut to `limit` characters and says how
    /// long it was: `'aaaa…' (70000 bytes)`.
    public static func quoted(_ value: String, limit: Int = maxCharacters) -> String {
        var count = 0
        var end = value.startIndex
        while end < value.endIndex, count < limit {
            end = value.index(after: end)
            count += 1
        }
        guard end < value.endIndex else { return "'\(value)'" }
        return "'\(value[..<end])…' (\(value.utf8.count) bytes)"
    }
}
