import Foundation
import TokenwireCore

/// What a request's `tool_choice` asks for.
enum ToolChoice: Equatable {
    /// The model decides (`""`, `"auto"`).
    case auto
    /// No tool (`"none"`).
    case none
    /// One of the tools (`"required"`).
    case required
    /// This tool (any other value: a tool's name).
    case named(String)

    init(_ text: String) {
        switch text {
        case "", "auto": self = .auto
        case "none": self = .none
        case "required": self = .required
        default: self = .named(text)
        }
    }
}

extension DialectSupport {
    /// JSON text as a value to embed in a request body; nil when it is not JSON.
    static func parseJSON(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// A tool's parameters schema: as given, or, when it gives none, an object with no
    /// properties (several providers require a schema).
    static func parameters(of tool: ToolDefinition) -> JSONValue {
        parseJSON(tool.parameters) ?? .object(["type": .string("object"), "properties": .object([:])])
    }

    /// A call's arguments as an object, for providers that take them as one (Anthropic's
    /// `input`, Gemini's `args`, Ollama's `arguments`): empty or not an object gives `{}`.
    static func argumentsObject(of call: ToolCall) -> JSONValue {
        if case .object(let members)? = parseJSON(call.arguments) { return .object(members) }
        return .object([:])
    }

    /// The name of the tool call `id` names, from the assistant messages before it (for
    /// providers that match results to calls by name: Gemini, Ollama).
    static func toolName(forCall id: String, in messages: [ChatMessage]) -> String {
        for message in messages.reversed() {
            if let call = message.toolCalls.first(where: { $0.id == id }) { return call.name }
        }
        return id
    }

    /// The tools a request offers, narrowed for providers that cannot name one tool to
    /// force: with `tool_choice` naming a tool, only that tool.
    static func offeredTools(of request: GenerateRequest) -> [ToolDefinition] {
        if case .named(let name) = ToolChoice(request.toolChoice) { return request.tools.filter { $0.name == name } }
        return request.tools
    }
}

/// The function-tool shape OpenAI's chat API set and others copied (Cohere v2, Ollama):
/// `{"type": "function", "function": {"name", "description", "parameters"}}`.
struct FunctionTool: Encodable {
    struct Function: Encodable {
        var name: String
        var description: String?
        var parameters: JSONValue
    }

    var type = "function"
    var function: Function

    init(_ tool: ToolDefinition) {
        function = Function(
            name: tool.name, description: tool.description.isEmpty ? nil : tool.description,
            parameters: DialectSupport.parameters(of: tool))
    }
}

/// An assistant's tool call in the same shape: `{"id", "type": "function", "function":
/// {"name", "arguments"}}` (arguments as JSON text).
struct FunctionCall: Encodable {
    struct Function: Encodable {
        var name: String
        var arguments: String
    }

    var id: String
    var type = "function"
    var function: Function

    init(_ call: ToolCall) {
        id = call.id
        function = Function(name: call.name, arguments: call.arguments.isEmpty ? "{}" : call.arguments)
    }
}

/// A chat message in that family's shape: `role` and `content`, and `tool_call_id` (a
/// tool's result) or `tool_calls` (an assistant's calls) when the message has them.
struct ChatBodyMessage: Encodable {
    var role: String
    var content: String
    var tool_call_id: String?
    var tool_calls: [FunctionCall]?

    init(_ message: ChatMessage) {
        role = message.role
        content = message.content
        tool_call_id = message.toolCallID.isEmpty ? nil : message.toolCallID
        tool_calls = message.toolCalls.isEmpty ? nil : message.toolCalls.map(FunctionCall.init)
    }
}

/// `tool_choice` in OpenAI's shapes (chat completions, Responses): `"none"`, `"required"`,
/// or an object naming the tool, which `named` builds (chat nests the name in `function`,
/// Responses does not); nil for auto, the default.
struct OpenAIToolChoice: Encodable {
    let value: JSONValue

    init?(_ choice: ToolChoice, named: (String) -> JSONValue) {
        switch choice {
        case .auto: return nil
        case .none: value = .string("none")
        case .required: value = .string("required")
        case .named(let name): value = named(name)
        }
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}

/// A function tool with its fields at the top level, `{"name", "description",
/// "parameters"}`: Gemini's function declarations, and Responses' tools (with
/// `"type": "function"`).
struct FlatFunctionTool: Encodable {
    var type: String?
    var name: String
    var description: String?
    var parameters: JSONValue

    init(_ tool: ToolDefinition, type: String? = nil) {
        self.type = type
        name = tool.name
        description = tool.description.isEmpty ? nil : tool.description
        parameters = DialectSupport.parameters(of: tool)
    }
}
