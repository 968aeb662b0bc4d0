import ArgumentParser

/// A server's address as the commands take it: `HOST:PORT`.
enum HostAndPort {
    /// - Parameter option: the option that gave it (`--target`), for the error.
    /// - Throws: `ValidationError` naming the option and what it got.
    static func parse(_ text: String, option: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 0 else {
            throw ValidationError("\(option) wants HOST:PORT, got '\(text)'")
        }
        return (String(text[..<colon]), port)
    }
}
