public import Foundation
public import TokenwireCore

extension CohereDialect {
    /// The body of a streaming `POST /v2/chat`. Messages are sent with their roles
    /// (`system`, `user`, `assistant`, `tool` are all v2 roles), an assistant's with its
    /// `tool_calls` and a tool's with its `tool_call_id`. Tools are function tools;
    /// `tool_choice` none and required are `NONE` and `REQUIRED`, and a tool's name sends
    /// only that tool with `REQUIRED` (v2 cannot name one).
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                messages: request.messages.map(ChatBodyMessage.init),
                max_tokens: DialectSupport.maxTokens(of: request),
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                response_format: DialectSupport.wantsJSON(request)
                    ? ResponseFormatField(type: "json_object", json_schema: DialectSupport.schema(of: request)) : nil,
                tools: request.tools.isEmpty ? nil : DialectSupport.offeredTools(of: request).map(FunctionTool.init),
                tool_choice: request.tools.isEmpty ? nil : toolChoice(ToolChoice(request.toolChoice))
            )
        )
    }

    private static func toolChoice(_ choice: ToolChoice) -> String? {
        switch choice {
        case .auto: nil
        case .none: "NONE"
        case .required, .named: "REQUIRED"
        }
    }

    /// `response_format`: `{"type":"json_object"}`, with `json_schema` when there is one.
    private struct ResponseFormatField: Encodable {
        var type: String
        var json_schema: JSONValue?
    }

    private struct Body: Encodable {
        var model: String
        var messages: [ChatBodyMessage]
        var max_tokens: UInt32?
        var temperature: Double?
        var stream: Bool
        var response_format: ResponseFormatField?
        var tools: [FunctionTool]?
        var tool_choice: String?
    }
}
