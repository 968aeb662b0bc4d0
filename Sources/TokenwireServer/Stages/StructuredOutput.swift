import TokenwireCore

/// What the server accepts as a request's `response_format`.
enum StructuredOutput {
    /// The longest schema a request may carry.
    static let maxSchemaBytes = 256 * 1024

    /// - Throws: INVALID_ARGUMENT naming the field when the format is one this server does
    ///   not know, or a JSON_SCHEMA request's schema is missing or not a JSON object.
    static func check(_ format: ResponseFormat?) throws(TokenwireError) {
        guard let format else { return }
        switch format.kind {
        case .text, .jsonObject, .jsonSchema: break
        default:
            throw .invalidArgument("response_format.type \(format.kind.rawValue) is not one this server knows: use TEXT (0), JSON_OBJECT (1) or JSON_SCHEMA (2)")
        }
        switch format.delivery {
        case .stream, .buffered, .snapshots: break
        default:
            throw .invalidArgument("response_format.delivery \(format.delivery.rawValue) is not one this server knows: use STREAM (0), BUFFERED (1) or SNAPSHOTS (2)")
        }
        if format.kind == .jsonSchema {
            guard !format.schema.isEmpty else {
                throw .invalidArgument("response_format.type is JSON_SCHEMA but response_format.schema is empty: give the JSON Schema as JSON text")
            }
            var check = JSONDocumentCheck(root: .object, keepsText: false, maxBytes: maxSchemaBytes)
            guard format.schema.utf8.count <= maxSchemaBytes else {
                throw .invalidArgument("response_format.schema is \(format.schema.utf8.count) bytes; at most \(maxSchemaBytes) are accepted")
            }
            check.append(format.schema)
            let verdict = check.verdict()
            guard verdict.isValid else {
                throw .invalidArgument("response_format.schema is not a JSON object: \(verdict.error)")
            }
        } else if !format.schema.isEmpty {
            throw .invalidArgument("response_format.schema is given but response_format.type is \(format.kind): a schema needs JSON_SCHEMA")
        }
    }
}
