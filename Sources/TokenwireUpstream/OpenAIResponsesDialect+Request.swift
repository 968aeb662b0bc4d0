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
                stream: true
            )
        )
    }

    private struct Body: Encodable {
        var model: String
        var input: [RoleContentMessage]
        var max_output_tokens: UInt32?
        var temperature: Double
        var stream: Bool
    }
}
