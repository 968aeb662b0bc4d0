/// Structured output (`GenerateRequest.response_format`): what the answer's text must be,
/// and how it is delivered (docs/PROVIDERS.md, "Structured output").
public struct ResponseFormat: Sendable, Hashable {
    /// What the text must be. A struct over the wire number, so that a number this version
    /// does not know survives decoding and can be refused by name.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Plain text (the default).
        public static let text = Kind(rawValue: 0)
        /// One JSON object.
        public static let jsonObject = Kind(rawValue: 1)
        /// One JSON value matching `schema`.
        public static let jsonSchema = Kind(rawValue: 2)

        public var description: String {
            switch self {
            case .text: "TEXT"
            case .jsonObject: "JSON_OBJECT"
            case .jsonSchema: "JSON_SCHEMA"
            default: "\(rawValue)"
            }
        }
    }

    /// How a JSON answer reaches the client.
    public struct Delivery: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Text frames as they come; `Finish.json` says whether the whole is valid.
        public static let stream = Delivery(rawValue: 0)
        /// One text frame with the whole document, only once it is complete and valid.
        public static let buffered = Delivery(rawValue: 1)
        /// Text frames as they come, and `jsonSnapshot` frames: the document so far,
        /// closed into valid JSON, whenever it grows.
        public static let snapshots = Delivery(rawValue: 2)

        public var description: String {
            switch self {
            case .stream: "STREAM"
            case .buffered: "BUFFERED"
            case .snapshots: "SNAPSHOTS"
            default: "\(rawValue)"
            }
        }
    }

    public var kind: Kind
    /// With `.jsonSchema`: the JSON Schema, as JSON text.
    public var schema: String
    /// The schema's name, for providers that want one (OpenAI); empty sends "response".
    public var schemaName: String
    public var delivery: Delivery

    public init(kind: Kind, schema: String = "", schemaName: String = "", delivery: Delivery = .stream) {
        self.kind = kind
        self.schema = schema
        self.schemaName = schemaName
        self.delivery = delivery
    }

    /// One JSON object, delivered as `delivery` says.
    public static func jsonObject(delivery: Delivery = .stream) -> ResponseFormat {
        ResponseFormat(kind: .jsonObject, delivery: delivery)
    }

    /// One JSON value matching `schema` (JSON text), delivered as `delivery` says.
    public static func jsonSchema(_ schema: String, name: String = "", delivery: Delivery = .stream) -> ResponseFormat {
        ResponseFormat(kind: .jsonSchema, schema: schema, schemaName: name, delivery: delivery)
    }

    /// Whether the answer must be JSON.
    public var wantsJSON: Bool { kind == .jsonObject || kind == .jsonSchema }

    /// The name sent to providers that want one.
    public var effectiveSchemaName: String { schemaName.isEmpty ? "response" : schemaName }
}

/// Whether a JSON answer's text is the document the request asked for (`Finish.json`).
/// Tokenwire checks the syntax (and, for `.jsonObject`, that it is an object), not the
/// schema.
public struct JSONCheck: Sendable, Hashable, CustomStringConvertible {
    public struct Verdict: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let unchecked = Verdict(rawValue: 0)
        /// One complete, well-formed JSON document.
        public static let valid = Verdict(rawValue: 1)
        /// Well-formed so far, but the text ends before the document does.
        public static let incomplete = Verdict(rawValue: 2)
        /// Not JSON, not an object where one was asked for, or longer than the server's bound.
        public static let invalid = Verdict(rawValue: 3)

        public var description: String {
            switch self {
            case .unchecked: "UNCHECKED"
            case .valid: "VALID"
            case .incomplete: "INCOMPLETE"
            case .invalid: "INVALID"
            default: "\(rawValue)"
            }
        }
    }

    public var verdict: Verdict
    /// For `.incomplete` and `.invalid`: what is wrong, and at which byte of the text.
    public var error: String

    public init(verdict: Verdict, error: String = "") {
        self.verdict = verdict
        self.error = error
    }

    public var isValid: Bool { verdict == .valid }

    public var description: String { error.isEmpty ? "\(verdict)" : "\(verdict): \(error)" }
}
