public import Foundation
public import TokenwireCore

extension OpenAIChatDialect {
    /// The body of a streaming `POST /v1/chat/completions`.
    ///
    /// Messages are sent as they are; `stream_options.include_usage` asks for the usage
    /// chunk; the limit is sent as `max_tokens`, which every OpenAI-compatible server
    /// understands (OpenAI's reasoning models want `max_completion_tokens` instead).
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        plainRequestBody(for: request, model: model) ?? encodedRequestBody(for: request, model: model)
    }

    /// The body through `Encodable`: the reference, and the encoding of every request that
    /// `plainRequestBody` does not write itself.
    static func encodedRequestBody(for request: GenerateRequest, model: String) -> Data {
        DialectSupport.encodeBody(
            Body(
                model: model,
                messages: request.messages.map(ChatBodyMessage.init),
                max_tokens: DialectSupport.maxTokens(of: request),
                temperature: DialectSupport.temperature(of: request),
                stream: true,
                stream_options: StreamOptions(include_usage: true),
                response_format: responseFormat(of: request),
                tools: request.tools.isEmpty ? nil : request.tools.map(FunctionTool.init),
                tool_choice: request.tools.isEmpty ? nil : OpenAIToolChoice(ToolChoice(request.toolChoice)) { name in
                    .object(["type": .string("function"), "function": .object(["name": .string(name)])])
                }
            )
        )
    }

    /// The body of the most common request, text messages and no tools or response format,
    /// written directly (`JSONBodyWriter`): the same bytes as `requestBody`'s `Encodable`
    /// reference. nil for any other request.
    static func plainRequestBody(for request: GenerateRequest, model: String) -> Data? {
        guard request.tools.isEmpty, request.responseFormat?.wantsJSON != true,
            request.messages.allSatisfy({ $0.toolCallID.isEmpty && $0.toolCalls.isEmpty })
        else { return nil }
        var json = JSONBodyWriter(capacity: 160 + request.messages.reduce(model.utf8.count) { $0 + $1.content.utf8.count + 32 })
        json.raw("{")
        if let maxTokens = DialectSupport.maxTokens(of: request) {
            json.key("max_tokens")
            json.integer(maxTokens)
            json.raw(",")
        }
        json.key("messages")
        json.raw("[")
        for (index, message) in request.messages.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("content")
            json.string(message.content)
            json.raw(",")
            json.key("role")
            json.string(message.role)
            json.raw("}")
        }
        json.raw("],")
        json.key("model")
        json.string(model)
        json.raw(",")
        json.key("stream")
        json.raw("true,")
        json.key("stream_options")
        json.raw("{")
        json.key("include_usage")
        json.raw("true}")
        if let temperature = DialectSupport.temperature(of: request) {
            json.raw(",")
            json.key("temperature")
            guard json.number(temperature) else { return nil }
        }
        json.raw("}")
        return Data(json.bytes)
    }

    /// `response_format`: `{"type":"json_object"}`, or `{"type":"json_schema","json_schema":
    /// {"name","schema","strict":true}}`; nil (absent) for text.
    static func responseFormat(of request: GenerateRequest) -> ResponseFormatField? {
        guard let format = request.responseFormat, format.wantsJSON else { return nil }
        guard let schema = DialectSupport.schema(of: request) else { return ResponseFormatField(type: "json_object") }
        return ResponseFormatField(
            type: "json_schema", json_schema: NamedSchema(name: format.effectiveSchemaName, schema: schema, strict: true))
    }

    struct ResponseFormatField: Encodable {
        var type: String
        var json_schema: NamedSchema?
    }

    struct NamedSchema: Encodable {
        var name: String
        var schema: JSONValue
        var strict: Bool
    }

    private struct Body: Encodable {
        var model: String
        var messages: [ChatBodyMessage]
        var max_tokens: UInt32?
        var temperature: Double?
        var stream: Bool
        var stream_options: StreamOptions
        var response_format: ResponseFormatField?
        var tools: [FunctionTool]?
        var tool_choice: OpenAIToolChoice?
    }

    private struct StreamOptions: Encodable {
        var include_usage: Bool
    }
}
