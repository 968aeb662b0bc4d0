import Foundation
import TokenwireCore

/// The requests of a `tokenwire batch` input file: JSON Lines, one request per line.
///
/// Each line is an object with `model` (else `--model`), either `messages` (a list of
/// `{"role", "content"}`) or `prompt` (one user message, after an optional `system`),
/// and optionally `max_tokens` (else `--max-tokens`), `temperature` and `metadata`.
/// Blank lines are skipped; an item's index is its position among the non-blank lines,
/// counting from 0.
struct BatchPromptFile {
    /// The requests, in file order; `requests[i]` is item `i`.
    var requests: [GenerateRequest]

    struct Defaults {
        var model: String
        var maxTokens: UInt32
    }

    /// One input line as written.
    private struct Line: Decodable {
        struct Message: Decodable {
            var role: String
            var content: String
        }

        var model: String?
        var prompt: String?
        var system: String?
        var messages: [Message]?
        var max_tokens: Int64?
        var temperature: Float?
        var metadata: [String: String]?
    }

    /// The keys a line may have.
    static let knownKeys: Set<String> = ["model", "prompt", "system", "messages", "max_tokens", "temperature", "metadata"]

    /// Reads and checks the whole file before anything is sent.
    /// - Throws: `BatchInputError` naming the file and line that is wrong.
    init(path: String, defaults: Defaults) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BatchInputError(message: "cannot read \(path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        var requests: [GenerateRequest] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let location = "\(path) line \(number + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) else {
                throw BatchInputError(message: "\(location) is not valid JSON: each line must be one JSON object")
            }
            guard let fields = object as? [String: Any] else {
                throw BatchInputError(message: "\(location) is not a JSON object: each line must be one request object")
            }
            if let unknown = fields.keys.sorted().first(where: { !Self.knownKeys.contains($0) }) {
                throw BatchInputError(
                    message: "\(location) has an unknown key '\(unknown)' (known: \(Self.knownKeys.sorted().joined(separator: ", ")))")
            }
            let parsed: Line
            do {
                parsed = try decoder.decode(Line.self, from: Data(trimmed.utf8))
            } catch {
                throw BatchInputError(message: "\(location) is not a request object: \(Self.describe(error))")
            }
            requests.append(try Self.request(from: parsed, defaults: defaults, where: "\(path) line \(number + 1)"))
        }
        self.requests = requests
    }

    private static func request(from line: Line, defaults: Defaults, where location: String) throws -> GenerateRequest {
        var messages = (line.messages ?? []).map { ChatMessage(role: $0.role, content: $0.content) }
        if let prompt = line.prompt {
            guard messages.isEmpty else {
                throw BatchInputError(message: "\(location) has both 'prompt' and 'messages': give one of them")
            }
            if let system = line.system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
        }
        guard !messages.isEmpty else {
            throw BatchInputError(message: "\(location) has neither 'prompt' nor 'messages'")
        }
        var maxTokens = defaults.maxTokens
        if let given = line.max_tokens {
            guard let count = UInt32(exactly: given) else {
                throw BatchInputError(message: "\(location): max_tokens must be 0 (the provider's default) to \(UInt32.max), not \(given)")
            }
            maxTokens = count
        }
        return GenerateRequest(
            model: line.model ?? defaults.model, messages: messages, maxTokens: maxTokens,
            temperature: line.temperature, metadata: line.metadata ?? [:])
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// A `tokenwire batch` input file that cannot be used, with the place to fix.
struct BatchInputError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
