public import Foundation
public import TokenwireCore

extension AnthropicDialect {
    /// The `max_tokens` sent when the caller leaves the limit to the provider: Anthropic
    /// requires one.
    public static let defaultMaxTokens: UInt32 = 4096

    /// The body of a streaming `POST /v1/messages`.
    ///
    /// `system` messages are joined (blank line between) into the top-level `system`
    /// prompt. An assistant's tool calls become `tool_use` blocks of its message; `tool`
    /// messages with a call id become `tool_result` blocks of one `user` message (those in
    /// a row share it); a `tool` message without an id is sent as `user` text. Tools are
    /// `{"name", "description", "input_schema"}`; `tool_choice` auto, none, required and a
    /// name become `auto`, `none`, `any` and `tool`.
    ///
    /// - Parameters:
    ///   - request: The caller's request; `maxTokens` 0 sends `defaultMaxTokens`.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        let system = request.messages.filter { $0.role == "system" }.map(\.content)
        let messages = RequestMessage.messages(request.messages.filter { $0.role != "system" })
        return DialectSupport.encodeBody(
            Body(
                model: model,
                system: system.isEmpty ? nil : system.joined(separator: "\n\n"),
                messages: messages,
                max_tokens: DialectSupport.maxTokens(of: request) ?? defaultMaxTokens,
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                tools: request.tools.isEmpty ? nil : request.tools.map(AnthropicTool.init),
                tool_choice: request.tools.isEmpty ? nil : ToolChoiceField(ToolChoice(request.toolChoice))
            )
        )
    }

    /// A message whose content is text, or blocks when it carries tool calls or results.
    struct RequestMessage: Encodable {
        var role: String
        var content: Content

        enum Content: Encodable {
            case text(String)
            case blocks([Block])

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .text(let text): try container.encode(text)
                case .blocks(let blocks): try container.encode(blocks)
                }
            }
        }

        struct Block: Encodable {
            var type: String
            var text: String?
            var id: String?
            var name: String?
            var input: JSONValue?
            var tool_use_id: String?
            var content: String?
        }

        static func messages(_ chat: [ChatMessage]) -> [RequestMessage] {
            var messages: [RequestMessage] = []
            for message in chat {
                if message.role == "tool", !message.toolCallID.isEmpty {
                    let block = Block(type: "tool_result", tool_use_id: message.toolCallID, content: message.content)
                    // Results in a row go in one user message, as the API wants them.
                    if let last = messages.last, last.role == "user", case .blocks(let blocks) = last.content,
                        blocks.allSatisfy({ $0.type == "tool_result" })
                    {
                        messages[messages.count - 1].content = .blocks(blocks + [block])
                    } else {
                        messages.append(RequestMessage(role: "user", content: .blocks([block])))
                    }
                } else if message.role == "assistant", !message.toolCalls.isEmpty {
                    var blocks: [Block] = message.content.isEmpty ? [] : [Block(type: "text", text: message.content)]
                    for call in message.toolCalls {
                        blocks.append(Block(type: "tool_use", id: call.id, name: call.name, input: DialectSupport.argumentsObject(of: call)))
                    }
                    messages.append(RequestMessage(role: "assistant", content: .blocks(blocks)))
                } else {
                    messages.append(RequestMessage(role: message.role == "assistant" ? "assistant" : "user", content: .text(message.content)))
                }
            }
            return messages
        }
    }

    struct AnthropicTool: Encodable {
        var name: String
        var description: String?
        var input_schema: JSONValue

        init(_ tool: ToolDefinition) {
            name = tool.name
            description = tool.description.isEmpty ? nil : tool.description
            input_schema = DialectSupport.parameters(of: tool)
        }
    }

    /// `tool_choice`: `{"type": "none" | "any"}` or `{"type": "tool", "name"}`; absent for auto.
    struct ToolChoiceField: Encodable {
        var type: String
        var name: String?

        init?(_ choice: ToolChoice) {
            switch choice {
            case .auto: return nil
            case .none: type = "none"
            case .required: type = "any"
            case .named(let tool):
                type = "tool"
                name = tool
            }
        }
    }

    private struct Body: Encodable {
        var model: String
        var system: String?
        var messages: [RequestMessage]
        var max_tokens: UInt32
        var temperature: Double?
        var stream: Bool
        var tools: [AnthropicTool]?
        var tool_choice: ToolChoiceField?
    }
}
