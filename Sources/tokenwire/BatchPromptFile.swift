import Foundation
import TokenwireCore

/// The requests of a `tokenwire batch` input file: JSON Lines, one request per line.
///
/// Each line is an object with `model` (else `--model`), either `messages` (a list of
/// `{"role", "content"}`) or `prompt` (one user message, after an optional `system`),
/// and optionally `max_tokens` (else `--max-tokens`), `temperature`, `metadata` and `id`
/// (the caller's own name for the item, a string or a number, copied to its result).
/// Blank lines are skipped; an item's index is its position among the non-blank lines,
/// counting from 0, and its `line` the line number in the file.
struct BatchPromptFile {
    /// One non-blank line: a request, or why it is not one.
    struct Item {
        /// The line's number in the file, from 1.
        var line: Int
        /// The line's `id`, as written (a number as its JSON text).
        var id: String?
        var request: Result<GenerateRequest, BatchInputError>
    }

    /// The items, in file order; `items[i]` is item `i`.
    var items: [Item]

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
    static let knownKeys: Set<String> = ["model", "prompt", "system", "messages", "max_tokens", "temperature", "metadata", "id"]

    /// Reads and checks the whole file before anything is sent. A line that is not a
    /// usable request becomes an item that failed (`request` is the error), or, when
    /// `strict`, fails the whole file.
    /// - Throws: `BatchInputError` when the file cannot be read, or (`strict`) naming the
    ///   first line that is wrong.
    init(path: String, defaults: Defaults, strict: Bool = false) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BatchInputError(message: "cannot read \(path): \(error.localizedDescription)")
        }
        var items: [Item] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let item = Self.item(trimmed, line: number + 1, location: "\(path) line \(number + 1)", defaults: defaults)
            if strict, case .failure(let error) = item.request { throw error }
            items.append(item)
        }
        self.items = items
    }

    /// One non-blank line as an item.
    private static func item(_ text: String, line: Int, location: String, defaults: Defaults) -> Item {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
            return Item(line: line, request: .failure(BatchInputError(message: "\(location) is not valid JSON: each line must be one JSON object")))
        }
        guard let fields = object as? [String: Any] else {
            return Item(line: line, request: .failure(BatchInputError(message: "\(location) is not a JSON object: each line must be one request object")))
        }
        let id: String? =
            switch fields["id"] {
            case let string as String: string
            case let number as NSNumber where !(fields["id"] is Bool): number.stringValue
            default: nil
            }
        func failure(_ message: String) -> Item { Item(line: line, id: id, request: .failure(BatchInputError(message: message))) }
        if fields["id"] != nil, id == nil { return failure("\(location): id must be a string or a number") }
        if let unknown = fields.keys.sorted().first(where: { !Self.knownKeys.contains($0) }) {
            return failure("\(location) has an unknown key '\(unknown)' (known: \(Self.knownKeys.sorted().joined(separator: ", ")))")
        }
        var fieldsWithoutID = fields
        fieldsWithoutID["id"] = nil
        let parsed: Line
        do {
            parsed = try JSONDecoder().decode(Line.self, from: JSONSerialization.data(withJSONObject: fieldsWithoutID))
        } catch {
            return failure("\(location) is not a request object: \(Self.describe(error))")
        }
        do {
            return Item(line: line, id: id, request: .success(try Self.request(from: parsed, defaults: defaults, where: location)))
        } catch let error as BatchInputError {
            return Item(line: line, id: id, request: .failure(error))
        } catch {
            return failure("\(location): \(error)")
        }
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
