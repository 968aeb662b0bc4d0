public import Foundation
public import TokenwireCore

extension CohereDialect {
    /// The body of a streaming `POST /v2/chat`. Messages are sent with their roles
    /// (`system`, `user`, `assistant`, `tool` are all v2 roles).
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                messages: request.messages.map { RoleContentMessage(role: $0.role, content: $0.content) },
                max_tokens: DialectSupport.maxTokens(of: request),
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                response_format: DialectSupport.wantsJSON(request)
                    ? ResponseFormatField(type: "json_object", json_schema: DialectSupport.schema(of: request)) : nil
            )
        )
    }

    /// `response_format`: `{"type":"json_object"}`, with `json_schema` when there is one.
    private struct ResponseFormatField: Encodable {
        var type: String
        var json_schema: JSONValue?
    }

    private struct Body: Encodable {
        var model: String
        var messages: [RoleContentMessage]
        var max_tokens: UInt32?
        var temperature: Double?
        var stream: Bool
        var response_format: ResponseFormatField?
    }
}
