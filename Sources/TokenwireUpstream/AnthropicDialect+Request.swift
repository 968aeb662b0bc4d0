public import Foundation
public import TokenwireCore

extension AnthropicDialect {
    /// The `max_tokens` sent when the caller leaves the limit to the provider: Anthropic
    /// requires one.
    public static let defaultMaxTokens: UInt32 = 4096

    /// The body of a streaming `POST /v1/messages`.
    ///
    /// `system` messages are joined (blank line between) into the top-level `system`
    /// prompt; `tool` messages, which would need a `tool_use_id`, are sent as `user`.
    ///
    /// - Parameters:
    ///   - request: The caller's request; `maxTokens` 0 sends `defaultMaxTokens`.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        let system = request.messages.filter { $0.role == "system" }.map(\.content)
        let messages = request.messages.filter { $0.role != "system" }.map {
            RoleContentMessage(role: $0.role == "assistant" ? "assistant" : "user", content: $0.content)
        }
        return DialectSupport.encodeBody(
            Body(
                model: model,
                system: system.isEmpty ? nil : system.joined(separator: "\n\n"),
                messages: messages,
                max_tokens: DialectSupport.maxTokens(of: request) ?? defaultMaxTokens,
                temperature: DialectSupport.temperature(of: request),
                stream: true
            )
        )
    }

    private struct Body: Encodable {
        var model: String
        var system: String?
        var messages: [RoleContentMessage]
        var max_tokens: UInt32
        var temperature: Double?
        var stream: Bool
    }
}
