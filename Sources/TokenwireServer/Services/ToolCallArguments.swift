import Foundation

/// Checks a tool call's assembled arguments: providers promise one JSON object, but a
/// stream cut short (or a model that misbehaves) leaves something else.
enum ToolCallArguments {
    /// What is wrong with `arguments`, or nil when it is one complete JSON object.
    static func problem(in arguments: String) -> String? {
        let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "no arguments: the provider sent an empty string, not a JSON object" }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])
        } catch {
            if isTruncated(trimmed) {
                return "truncated JSON: the arguments end inside \(openContext(trimmed)) after \(arguments.utf8.count) bytes"
            }
            return "invalid JSON: \(excerpt(trimmed))"
        }
        if value is [String: Any] { return nil }
        return "not a JSON object: the arguments are \(kind(of: value))"
    }

    /// Whether the text ends inside a string, object or array.
    private static func isTruncated(_ text: String) -> Bool {
        openContext(text) != "nothing"
    }

    /// What the text is still inside at its end: "a string", "an object", "an array" or "nothing".
    private static func openContext(_ text: String) -> String {
        var stack: [UInt8] = []
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): stack.append(byte)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if !stack.isEmpty { stack.removeLast() }
            default: break
            }
        }
        if inString { return "a string" }
        guard let open = stack.last else { return "nothing" }
        return open == UInt8(ascii: "{") ? "an object" : "an array"
    }

    private static func kind(of value: Any) -> String {
        switch value {
        case is [Any]: "a JSON array"
        case is String: "a JSON string"
        case is NSNull: "null"
        case is NSNumber: "a JSON number or boolean"
        default: "not an object"
        }
    }

    private static func excerpt(_ text: String) -> String {
        text.utf8.count <= 60 ? "'\(text)'" : "'\(text.prefix(60))…' (\(text.utf8.count) bytes)"
    }
}
