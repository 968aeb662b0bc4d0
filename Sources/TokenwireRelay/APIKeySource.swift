import Foundation

/// Where a provider's API key comes from. The key is read when the server starts and is
/// only ever put in request headers: never in logs, errors or descriptions.
public enum APIKeySource: Sendable, Hashable, CustomStringConvertible {
    /// No key (local servers such as Ollama or TGI).
    case none
    /// The named environment variable.
    case environment(String)
    /// The first line of the file at this path.
    case file(String)

    public var description: String {
        switch self {
        case .none: "no API key"
        case .environment(let name): "the environment variable \(name)"
        case .file(let path): "the file \(path)"
        }
    }

    /// The key, or nil for `.none`.
    /// - Parameter environment: The process environment (a parameter for tests).
    /// - Throws: `RelayConfigurationError` when the variable is unset or empty, or the file
    ///   unreadable or empty, naming the variable or file and never the value.
    func resolve(provider: String, environment: [String: String]) throws(RelayConfigurationError) -> String? {
        switch self {
        case .none:
            return nil
        case .environment(let name):
            guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw RelayConfigurationError(
                    path: "provider '\(provider)'",
                    problem: "its API key comes from the environment variable \(name), which is not set (export \(name)=... before starting the server)")
            }
            return value
        case .file(let path):
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8),
                let line = contents.split(whereSeparator: \.isNewline).first.map(String.init)?
                    .trimmingCharacters(in: .whitespaces), !line.isEmpty
            else {
                throw RelayConfigurationError(
                    path: "provider '\(provider)'",
                    problem: "its API key comes from the file \(path), which cannot be read or is empty")
            }
            return line
        }
    }
}
