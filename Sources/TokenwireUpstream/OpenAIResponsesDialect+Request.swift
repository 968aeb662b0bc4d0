public import Foundation
public import TokenwireCore

extension OpenAIResponsesDialect {
    /// The body of a streaming `POST /v1/responses`.
    ///
    /// Messages become `input` items with their roles; a `tool` message, which would need
    /// a call id this request model does not carry, is sent as `user`.
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                input: request.messages.map {
                    RoleContentMessage(role: $0.role == "tool" ? "user" : $0.role, content: $0.content)
                },
                max_output_tokens: DialectSupport.maxTokens(of: request),
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                text: textFormat(of: request)
            )
        )
    }

    /// `text.format`: `{"type":"json_object"}`, or `{"type":"json_schema","name","schema",
    /// "strict":true}`; nil (absent) for text.
    static func textFormat(of request: GenerateRequest) -> TextField? {
        guard let format = request.responseFormat, format.wantsJSON else { return nil }
        guard let schema = DialectSupport.schema(of: request) else { return TextField(format: Format(type: "json_object")) }
        return TextField(format: Format(type: "json_schema", name: format.effectiveSchemaName, schema: schema, strict: true))
    }

    struct TextField: Encodable {
        var format: Format
    }

    struct Format: Encodable {
        var type: String
        var name: String?
        var schema: JSONValue?
        var strict: Bool?
    }

    private struct Body: Encodable {
        var model: String
        var input: [RoleContentMessage]
        var max_output_tokens: UInt32?
        var temperature: Double?
        var stream: Bool
        var text: TextField?
    }
}
