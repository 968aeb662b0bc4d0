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
                tools: request.tools.isEmpty ? nil : request.tools.map(ResponsesTool.init),
                tool_choice: request.tools.isEmpty ? nil : ToolChoiceField(ToolChoice(request.toolChoice))
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

    struct ResponsesTool: Encodable {
        var type = "function"
        var name: String
        var description: String?
        var parameters: JSONValue

        init(_ tool: ToolDefinition) {
            name = tool.name
            description = tool.description.isEmpty ? nil : tool.description
            parameters = DialectSupport.parameters(of: tool)
        }
    }

    /// `tool_choice`: `"none"`, `"required"` or `{"type": "function", "name"}`; absent for auto.
    enum ToolChoiceField: Encodable {
        case mode(String)
        case named(String)

        init?(_ choice: ToolChoice) {
            switch choice {
            case .auto: return nil
            case .none: self = .mode("none")
            case .required: self = .mode("required")
            case .named(let name): self = .named(name)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .mode(let mode): try container.encode(mode)
            case .named(let name): try container.encode(["type": "function", "name": name])
            }
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
        var tools: [ResponsesTool]?
        var tool_choice: ToolChoiceField?
    }
}
