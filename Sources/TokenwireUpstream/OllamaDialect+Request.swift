public import Foundation
public import TokenwireCore

extension OllamaDialect {
    /// The body of a streaming `POST /api/chat`; the limit and temperature go in
    /// `options` (`num_predict`, `temperature`). An assistant's tool calls go in its
    /// `tool_calls` (arguments as an object); a tool's result carries `tool_name`, its
    /// call's tool. Tools are function tools. Ollama has no `tool_choice`: none sends no
    /// tools, a tool's name sends only that tool, and required cannot be forced.
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                messages: request.messages.map { OllamaMessage($0, in: request.messages) },
                stream: true,
                options: Options(
                    num_predict: DialectSupport.maxTokens(of: request),
                    temperature: DialectSupport.temperature(of: request)
                ),
                format: DialectSupport.wantsJSON(request) ? (DialectSupport.schema(of: request) ?? .string("json")) : nil,
                tools: request.tools.isEmpty || ToolChoice(request.toolChoice) == .none
                    ? nil : DialectSupport.offeredTools(of: request).map(FunctionTool.init)
            )
        )
    }

    private struct OllamaMessage: Encodable {
        struct Call: Encodable {
            struct Function: Encodable {
                var name: String
                var arguments: JSONValue
            }

            var function: Function
        }

        var role: String
        var content: String
        var tool_calls: [Call]?
        var tool_name: String?

        init(_ message: ChatMessage, in conversation: [ChatMessage]) {
            role = message.role
            content = message.content
            if !message.toolCalls.isEmpty {
                tool_calls = message.toolCalls.map {
                    Call(function: Call.Function(name: $0.name, arguments: DialectSupport.argumentsObject(of: $0)))
                }
            }
            if message.role == "tool", !message.toolCallID.isEmpty {
                tool_name = DialectSupport.toolName(forCall: message.toolCallID, in: conversation)
            }
        }
    }

    private struct Body: Encodable {
        var model: String
        var messages: [OllamaMessage]
        var stream: Bool
        var options: Options
        /// `"json"`, or the JSON Schema itself.
        var format: JSONValue?
        var tools: [FunctionTool]?
    }

    private struct Options: Encodable {
        var num_predict: UInt32?
        var temperature: Double?
    }
}
