public import Foundation
public import TokenwireCore

extension OllamaDialect {
    /// The body of a streaming `POST /api/chat`; the limit and temperature go in
    /// `options` (`num_predict`, `temperature`).
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
                stream: true,
                options: Options(
                    num_predict: DialectSupport.maxTokens(of: request),
                    temperature: DialectSupport.temperature(of: request)
                ),
                format: DialectSupport.wantsJSON(request) ? (DialectSupport.schema(of: request) ?? .string("json")) : nil
            )
        )
    }

    private struct Body: Encodable {
        var model: String
        var messages: [RoleContentMessage]
        var stream: Bool
        var options: Options
        /// `"json"`, or the JSON Schema itself.
        var format: JSONValue?
    }

    private struct Options: Encodable {
        var num_predict: UInt32?
        var temperature: Double?
    }
}
