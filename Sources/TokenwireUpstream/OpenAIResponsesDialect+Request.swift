public import Foundation
public import TokenwireCore

extension OpenAIResponsesDialect {
    /// The body of a streaming `POST /v1/responses`.
    ///
    /// Messages become `input` items with their roles; an assistant's tool calls become
    /// `function_call` items after it, and a `tool` message with its call's id a
    /// `function_call_output` item (one without an id is sent as `user`). Tools are
    /// `{"type": "function", "name", "description", "parameters"}`.
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                input: request.messages.flatMap(InputItem.items),
                max_output_tokens: DialectSupport.maxTokens(of: request),
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                text: textFormat(of: request),
                tools: request.tools.isEmpty ? nil : request.tools.map { FlatFunctionTool($0, type: "function") },
                tool_choice: request.tools.isEmpty ? nil : OpenAIToolChoice(ToolChoice(request.toolChoice)) { name in
                    .object(["type": .string("function"), "name": .string(name)])
                }
            )
        )
    }

    /// One `input` item: a message, a tool call the assistant made, or a call's result.
    struct InputItem: Encodable {
        var type: String?
        var role: String?
        var content: String?
        var call_id: String?
        var name: String?
        var arguments: String?
        var output: String?

        static func items(_ message: ChatMessage) -> [InputItem] {
            if message.role == "tool" {
                guard !message.toolCallID.isEmpty else { return [InputItem(role: "user", content: message.content)] }
                return [InputItem(type: "function_call_output", call_id: message.toolCallID, output: message.content)]
            }
            var items: [InputItem] = []
            if message.toolCalls.isEmpty || !message.content.isEmpty { items.append(InputItem(role: message.role, content: message.content)) }
            for call in message.toolCalls {
                items.append(
                    InputItem(type: "function_call", call_id: call.id, name: call.name, arguments: call.arguments.isEmpty ? "{}" : call.arguments))
            }
            return items
        }
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
        var input: [InputItem]
        var max_output_tokens: UInt32?
        var temperature: Double?
        var stream: Bool
        var text: TextField?
        var tools: [FlatFunctionTool]?
        var tool_choice: OpenAIToolChoice?
    }
}
