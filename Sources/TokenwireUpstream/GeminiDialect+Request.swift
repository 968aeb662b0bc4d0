public import Foundation
public import TokenwireCore

extension GeminiDialect {
    /// The body of `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`.
    ///
    /// The model is part of the URL, not the body, and streaming is chosen by the URL too
    /// (`alt=sse`). `system` messages are joined into `systemInstruction`; `assistant`
    /// becomes Gemini's `model` role and every other role `user`. An assistant's tool calls
    /// become `functionCall` parts; a `tool` message with a call id a `functionResponse`
    /// part named after that call's tool (Gemini matches results by name), its `response`
    /// the result when it is a JSON object, else `{"result": TEXT}`. Tools are one
    /// `functionDeclarations` list; `tool_choice` becomes `toolConfig.functionCallingConfig`
    /// (`AUTO`, `NONE`, `ANY`, or `ANY` with `allowedFunctionNames`).
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name (unused in the body; put it in the URL).
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        let system = request.messages.filter { $0.role == "system" }.map(\.content)
        let chat = request.messages.filter { $0.role != "system" }
        let contents = chat.map { message in
            Content(role: message.role == "assistant" ? "model" : "user", parts: Part.parts(of: message, in: request.messages))
        }
        return DialectSupport.encodeBody(
            Body(
                contents: contents,
                systemInstruction: system.isEmpty ? nil : SystemInstruction(parts: system.map { Part(text: $0) }),
                generationConfig: GenerationConfig(
                    maxOutputTokens: DialectSupport.maxTokens(of: request),
                    temperature: DialectSupport.temperature(of: request),
                    responseMimeType: DialectSupport.wantsJSON(request) ? "application/json" : nil,
                    responseSchema: DialectSupport.schema(of: request)
                ),
                tools: request.tools.isEmpty ? nil : [Tools(functionDeclarations: request.tools.map { FlatFunctionTool($0) })],
                toolConfig: request.tools.isEmpty ? nil : ToolConfig(ToolChoice(request.toolChoice))
            )
        )
    }

    private struct Tools: Encodable {
        var functionDeclarations: [FlatFunctionTool]
    }

    private struct ToolConfig: Encodable {
        struct FunctionCallingConfig: Encodable {
            var mode: String
            var allowedFunctionNames: [String]?
        }

        var functionCallingConfig: FunctionCallingConfig

        init?(_ choice: ToolChoice) {
            switch choice {
            case .auto: return nil
            case .none: functionCallingConfig = FunctionCallingConfig(mode: "NONE")
            case .required: functionCallingConfig = FunctionCallingConfig(mode: "ANY")
            case .named(let name): functionCallingConfig = FunctionCallingConfig(mode: "ANY", allowedFunctionNames: [name])
            }
        }
    }

    private struct Body: Encodable {
        var contents: [Content]
        var systemInstruction: SystemInstruction?
        var generationConfig: GenerationConfig
        var tools: [Tools]?
        var toolConfig: ToolConfig?
    }

    private struct Content: Encodable {
        var role: String
        var parts: [Part]
    }

    private struct SystemInstruction: Encodable {
        var parts: [Part]
    }

    private struct Part: Encodable {
        struct FunctionCall: Encodable {
            var name: String
            var args: JSONValue
        }

        struct FunctionResponse: Encodable {
            var name: String
            var response: JSONValue
        }

        var text: String?
        var functionCall: FunctionCall?
        var functionResponse: FunctionResponse?

        init(text: String) {
            self.text = text
        }

        init(functionCall: FunctionCall) {
            self.functionCall = functionCall
        }

        init(functionResponse: FunctionResponse) {
            self.functionResponse = functionResponse
        }

        /// A message's parts: its text, its tool calls, or its tool result.
        static func parts(of message: ChatMessage, in conversation: [ChatMessage]) -> [Part] {
            if message.role == "tool", !message.toolCallID.isEmpty {
                let response: JSONValue
                if case .object(let members)? = DialectSupport.parseJSON(message.content) {
                    response = .object(members)
                } else {
                    response = .object(["result": .string(message.content)])
                }
                let name = DialectSupport.toolName(forCall: message.toolCallID, in: conversation)
                return [Part(functionResponse: FunctionResponse(name: name, response: response))]
            }
            var parts: [Part] = message.toolCalls.isEmpty || !message.content.isEmpty ? [Part(text: message.content)] : []
            for call in message.toolCalls {
                parts.append(Part(functionCall: FunctionCall(name: call.name, args: DialectSupport.argumentsObject(of: call))))
            }
            return parts
        }
    }

    /// JSON output: `responseMimeType` `application/json`, and the schema as `responseSchema`
    /// (Gemini reads an OpenAPI subset of JSON Schema there).
    private struct GenerationConfig: Encodable {
        var maxOutputTokens: UInt32?
        var temperature: Double?
        var responseMimeType: String?
        var responseSchema: JSONValue?
    }
}
