import Foundation
import TokenwireCore

/// JSON decoding and errors shared by the dialects.
enum DialectSupport {
    /// Decodes an event's data as `T` (`JSONParser`, then `JSONTreeDecoder`), or throws
    /// INTERNAL naming the dialect.
    static func decode<T: Decodable>(
        _ type: T.Type,
        from event: SSEEvent,
        dialect: String
    ) throws(TokenwireError) -> T {
        do {
            return try JSONTreeDecoder.decode(T.self, from: JSONParser.parse(event.data))
        } catch {
            throw malformed(event.data, dialect: dialect)
        }
    }

    /// Parses an event's data and reads it with `read` (for dialects that read the parsed
    /// document directly), or throws INTERNAL naming the dialect.
    static func read<T>(
        from event: SSEEvent,
        dialect: String,
        _ read: (JSONNodeReader) throws -> T
    ) throws(TokenwireError) -> T {
        do {
            return try read(JSONNodeReader(document: JSONParser.parse(event.data)))
        } catch {
            throw malformed(event.data, dialect: dialect)
        }
    }

    /// INTERNAL: the upstream sent something that is not the JSON its dialect promises.
    static func malformed(_ payload: String, dialect: String) -> TokenwireError {
        .internal("the \(dialect) upstream sent malformed JSON: \(excerpt(payload))")
    }

    /// UNAVAILABLE: the body ended before the dialect's terminator.
    static func endedEarly(terminator: String) -> TokenwireError {
        .unavailable("upstream ended the stream early (no \(terminator))")
    }

    /// The start of `text`, quoted, for an error message.
    static func excerpt(_ text: String, limit: Int = 80) -> String {
        let flattened = text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        guard flattened.count > limit else { return "'\(flattened)'" }
        return "'\(flattened.prefix(limit))…' (\(text.utf8.count) bytes)"
    }

    /// Whether the data is the `[DONE]` sentinel of OpenAI-style streams (surrounding
    /// whitespace allowed). Runs on every event: the length check keeps Foundation's
    /// trimming, which bridges through UTF-16, off the common path.
    static func isDoneSentinel(_ data: String) -> Bool {
        if data == "[DONE]" { return true }
        guard data.utf8.count <= 16 else { return false }
        return data.trimmingCharacters(in: .whitespaces) == "[DONE]"
    }
}

/// A token count that may arrive as an integer or a floating-point number.
struct TokenCount: Decodable, Sendable, Hashable {
    var value: UInt32

    init(value: UInt32) {
        self.value = value
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            value = UInt32(clamping: integer)
        } else {
            let number = try container.decode(Double.self)
            value = number.isFinite ? UInt32(clamping: Int64(max(0, min(number, 4e9)))) : 0
        }
    }
}

/// A string that some providers send as a number (error codes: `"rate_limit"` or `429`).
struct LossyString: Decodable, Sendable, Hashable {
    var value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            value = string
        } else if let integer = try? container.decode(Int64.self) {
            value = String(integer)
        } else {
            value = String(try container.decode(Double.self))
        }
    }

    /// The value as an HTTP-status-like integer, if it is one.
    var integer: Int? { Int(value) }
}

/// A field decoded if it has the expected shape and nil otherwise: for fields whose shape
/// differs between a provider's event types (Cohere's `content` is an array in
/// `message-start` and an object in `content-delta`).
struct Lenient<Value: Decodable & Sendable>: Decodable, Sendable {
    var value: Value?

    init(value: Value?) {
        self.value = value
    }

    init(from decoder: any Decoder) throws {
        value = try? Value(from: decoder)
    }
}

extension Usage {
    /// Usage from optional provider counts; nil if the provider sent neither.
    init?(input: TokenCount?, output: TokenCount?) {
        guard input != nil || output != nil else { return nil }
        self.init(inputTokens: input?.value ?? 0, outputTokens: output?.value ?? 0)
    }
}

extension DialectSupport {
    /// A request body as JSON with sorted keys (stable bytes, readable diffs in tests).
    static func encodeBody(_ body: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(body)
        } catch {
            // Bodies are plain structs of strings and numbers; failing to encode one is our bug.
            preconditionFailure("could not encode a request body: \(error)")
        }
    }

    /// The request's temperature with the digits the caller wrote (a `Float` 0.7 widened
    /// to `Double` would be sent as 0.699999988079071).
    /// nil when the request leaves it to the provider (the field is then not sent).
    static func temperature(of request: GenerateRequest) -> Double? {
        guard let temperature = request.temperature else { return nil }
        return Double(temperature.description) ?? Double(temperature)
    }

    /// The request's JSON Schema (`response_format.type` JSON_SCHEMA), parsed; nil for any
    /// other format (the server refuses a schema that is not JSON before it gets here).
    static func schema(of request: GenerateRequest) -> JSONValue? {
        guard let format = request.responseFormat, format.kind == .jsonSchema else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(format.schema.utf8))
    }

    /// Whether the request asks for JSON (`response_format.type` JSON_OBJECT or JSON_SCHEMA).
    static func wantsJSON(_ request: GenerateRequest) -> Bool {
        request.responseFormat?.wantsJSON ?? false
    }

    /// The request's token limit, or nil when 0 leaves it to the provider.
    static func maxTokens(of request: GenerateRequest) -> UInt32? {
        request.maxTokens > 0 ? request.maxTokens : nil
    }
}
