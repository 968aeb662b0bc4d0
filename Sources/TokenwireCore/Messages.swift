/// One message of a chat conversation.
public struct ChatMessage: Sendable, Hashable {
    /// `system`, `user`, `assistant` or `tool`.
    public var role: String
    public var content: String
    /// Role `tool`: the id of the call whose result `content` is.
    public var toolCallID: String
    /// Role `assistant`: the tool calls it made (as `Complete` returns them), so that a
    /// conversation can go on with their results.
    public var toolCalls: [ToolCall]

    public init(role: String, content: String, toolCallID: String = "", toolCalls: [ToolCall] = []) {
        self.role = role
        self.content = content
        self.toolCallID = toolCallID
        self.toolCalls = toolCalls
    }

    /// The result of tool call `id`, to send back after the assistant message that made it.
    public static func toolResult(callID: String, content: String) -> ChatMessage {
        ChatMessage(role: "tool", content: content, toolCallID: callID)
    }
}

/// A function the model may call (`GenerateRequest.tools`; the proto's `Tool`).
public struct ToolDefinition: Sendable, Hashable {
    public var name: String
    public var description: String
    /// The arguments' JSON Schema, as JSON text (an object); empty: no arguments.
    public var parameters: String

    public init(name: String, description: String = "", parameters: String = "") {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// A request for one completion (`Generate` and `Complete`).
public struct GenerateRequest: Sendable, Hashable {
    /// A routed model name such as `synthetic/flood` or `openai/gpt-4o-mini`.
    public var model: String
    public var messages: [ChatMessage]
    /// The most tokens to generate; 0 leaves it to the provider.
    public var maxTokens: UInt32
    /// The sampling temperature; nil leaves it to the provider (0 is sent as 0).
    public var temperature: Float?
    /// Continue the stream this token names (reserved for stream resumption).
    public var resumeToken: String
    /// With `resumeToken`: resume from the frame after this sequence number.
    public var resumeAfterSeq: UInt64
    /// Free-form caller metadata, passed through to providers that understand it.
    public var metadata: [String: String]
    /// Structured output: JSON, and how it is delivered; nil for plain text.
    public var responseFormat: ResponseFormat?
    /// Functions the model may call; its calls arrive as `toolCall` frames.
    public var tools: [ToolDefinition]
    /// `""` or `"auto"`: the model decides; `"none"`; `"required"`: one of the tools; any
    /// other value names the tool it must call.
    public var toolChoice: String

    public init(
        model: String,
        messages: [ChatMessage] = [],
        maxTokens: UInt32 = 0,
        temperature: Float? = nil,
        resumeToken: String = "",
        resumeAfterSeq: UInt64 = 0,
        metadata: [String: String] = [:],
        responseFormat: ResponseFormat? = nil,
        tools: [ToolDefinition] = [],
        toolChoice: String = ""
    ) {
        self.responseFormat = responseFormat
        self.tools = tools
        self.toolChoice = toolChoice
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.resumeToken = resumeToken
        self.resumeAfterSeq = resumeAfterSeq
        self.metadata = metadata
    }
}

/// Many prompts in one call (`GenerateBatch`).
public struct BatchRequest: Sendable, Hashable {
    public var items: [GenerateRequest]
    /// How many items may run at once; 0 leaves it to the server.
    public var maxConcurrency: UInt32

    public init(items: [GenerateRequest], maxConcurrency: UInt32 = 0) {
        self.items = items
        self.maxConcurrency = maxConcurrency
    }
}

/// The first frame of every stream.
public struct StreamStart: Sendable, Hashable {
    public var streamID: String
    public var model: String
    public var provider: String
    public var resumeToken: String

    public init(streamID: String, model: String, provider: String, resumeToken: String = "") {
        self.streamID = streamID
        self.model = model
        self.provider = provider
        self.resumeToken = resumeToken
    }
}

/// A fragment of a tool call; fragments with the same `index` make one call.
public struct ToolCallDelta: Sendable, Hashable {
    public var index: UInt32
    public var id: String
    public var name: String
    /// A fragment of the call's JSON arguments.
    public var arguments: String

    public init(index: UInt32, id: String = "", name: String = "", arguments: String = "") {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Token counts reported by a provider.
public struct Usage: Sendable, Hashable {
    public var inputTokens: UInt32
    public var outputTokens: UInt32

    public init(inputTokens: UInt32 = 0, outputTokens: UInt32 = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// Why and how a stream (or batch item) ended.
public struct Finish: Sendable, Hashable {
    /// `stop`, `length`, `tool_calls`, `content_filter`, `cancelled` or `error`.
    public var reason: String
    /// Token counts, when the provider reported them.
    public var usage: Usage?
    /// Whether the text is the JSON document asked for; nil when the request asked for text.
    public var json: JSONCheck?

    public init(reason: String, usage: Usage? = nil, json: JSONCheck? = nil) {
        self.reason = reason
        self.usage = usage
        self.json = json
    }
}

/// A failed batch item; the call goes on.
public struct ItemError: Sendable, Hashable, CustomStringConvertible {
    /// A gRPC status code, as its wire number (`status` is the typed code).
    public var code: UInt32
    public var message: String

    public init(code: UInt32, message: String) {
        self.code = code
        self.message = message
    }

    public init(status: GRPCStatus.Code, message: String) {
        self.init(code: UInt32(status.rawValue), message: message)
    }

    /// The code as a typed gRPC status code: compare with `.notFound`, print `NOT_FOUND`
    /// (a number outside the known codes is `.unknown`).
    public var status: GRPCStatus.Code { GRPCStatus.Code(rawValue: Int(code)) }

    /// `NOT_FOUND: <message>`, as `GRPCStatus` prints.
    public var description: String { "\(status): \(message)" }
}

/// What a `TokenFrame` carries.
public enum TokenEvent: Sendable, Hashable {
    case start(StreamStart)
    case text(String)
    case toolCall(ToolCallDelta)
    case reasoning(String)
    case finish(Finish)
    case heartbeat
    case error(ItemError)
    /// `ResponseFormat.Delivery.snapshots`: the JSON document so far, closed into valid JSON.
    case jsonSnapshot(String)
}

/// One message of a `Generate` or `GenerateBatch` response stream.
public struct TokenFrame: Sendable, Hashable {
    /// 1, 2, 3, ... within one call, without gaps.
    public var seq: UInt64
    /// The batch item this frame belongs to (`GenerateBatch`), otherwise 0.
    public var index: UInt32
    /// What the frame carries; `nil` only for a frame from a newer server with an unknown event.
    public var event: TokenEvent?

    public init(seq: UInt64, index: UInt32 = 0, event: TokenEvent?) {
        self.seq = seq
        self.index = index
        self.event = event
    }
}

/// A complete tool call, as assembled by `Complete`.
public struct ToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The JSON arguments, exactly as the provider sent them (never replaced by `{}`).
    public var arguments: String
    /// Empty when `arguments` is one complete JSON object; otherwise why it is not
    /// (truncated, invalid, not an object), for the caller to report.
    public var argumentsError: String

    public init(id: String, name: String, arguments: String, argumentsError: String = "") {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.argumentsError = argumentsError
    }
}

/// The whole answer of `Complete`.
public struct Completion: Sendable, Hashable {
    public var model: String
    public var text: String
    public var toolCalls: [ToolCall]
    public var finish: Finish?

    public init(model: String, text: String = "", toolCalls: [ToolCall] = [], finish: Finish? = nil) {
        self.model = model
        self.text = text
        self.toolCalls = toolCalls
        self.finish = finish
    }
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus`.
public enum ServingStatus: Int, Sendable, Hashable, CustomStringConvertible {
    case unknown = 0
    case serving = 1
    case notServing = 2
    case serviceUnknown = 3

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        }
    }
}
