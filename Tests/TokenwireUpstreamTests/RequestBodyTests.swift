import Foundation
import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Request bodies")
struct RequestBodyTests {
    private let request = GenerateRequest(
        model: "provider/model",
        messages: [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: "Hello"),
            ChatMessage(role: "user", content: "Weather?"),
        ],
        maxTokens: 64,
        temperature: 0.7
    )

    private func json(_ data: Data) throws -> String {
        try #require(String(data: data, encoding: .utf8))
    }

    @Test func openAIChatRequestsStreamingWithUsage() throws {
        #expect(
            try json(OpenAIChatDialect.requestBody(for: request, model: "gpt-4o-mini"))
                == #"{"max_tokens":64,"messages":[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"},{"content":"Hello","role":"assistant"},{"content":"Weather?","role":"user"}],"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"temperature":0.7}"#
        )
    }

    @Test func zeroMaxTokensLeavesTheLimitToTheProvider() throws {
        var request = request
        request.maxTokens = 0
        #expect(try !json(OpenAIChatDialect.requestBody(for: request, model: "m")).contains("max_tokens"))
        #expect(try !json(CohereDialect.requestBody(for: request, model: "m")).contains("max_tokens"))
        #expect(try !json(OllamaDialect.requestBody(for: request, model: "m")).contains("num_predict"))
        #expect(try json(AnthropicDialect.requestBody(for: request, model: "m")).contains(#""max_tokens":4096"#))
    }

    @Test func aJSONObjectRequestAsksEachProviderInItsOwnField() throws {
        var request = GenerateRequest(model: "m", messages: [ChatMessage(role: "user", content: "Hi")])
        let plain = [
            try json(OpenAIChatDialect.requestBody(for: request, model: "m")), try json(OpenAIResponsesDialect.requestBody(for: request, model: "m")),
            try json(GeminiDialect.requestBody(for: request, model: "m")), try json(CohereDialect.requestBody(for: request, model: "m")),
            try json(OllamaDialect.requestBody(for: request, model: "m")), try json(TGIDialect.requestBody(for: request, model: "m")),
        ]
        for body in plain {
            for field in ["response_format", "\"text\":{", "responseMimeType", "format", "grammar"] { #expect(!body.contains(field), "\(body)") }
        }
        request.responseFormat = .jsonObject(delivery: .buffered)
        #expect(try json(OpenAIChatDialect.requestBody(for: request, model: "m")).contains(#""response_format":{"type":"json_object"}"#))
        #expect(try json(OpenAIResponsesDialect.requestBody(for: request, model: "m")).contains(#""text":{"format":{"type":"json_object"}}"#))
        #expect(try json(GeminiDialect.requestBody(for: request, model: "m")).contains(#""responseMimeType":"application/json""#))
        #expect(try !json(GeminiDialect.requestBody(for: request, model: "m")).contains("responseSchema"))
        #expect(try json(CohereDialect.requestBody(for: request, model: "m")).contains(#""response_format":{"type":"json_object"}"#))
        #expect(try json(OllamaDialect.requestBody(for: request, model: "m")).contains(#""format":"json""#))
        #expect(try json(TGIDialect.requestBody(for: request, model: "m")).contains(#""grammar":{"type":"json","value":{"type":"object"}}"#))
        request.responseFormat = .jsonSchema(#"{"type":"object","properties":{"n":{"type":"integer","minimum":1.5}}}"#)
        #expect(
            try json(OpenAIChatDialect.requestBody(for: request, model: "m")).contains(
                #""response_format":{"json_schema":{"name":"response","schema":{"properties":{"n":{"minimum":1.5,"type":"integer"}},"type":"object"},"strict":true},"type":"json_schema"}"#))
    }

    /// A conversation that goes on after a tool call: the tools, the choice, the
    /// assistant's call and the call's result, each in the provider's own shape.
    static let toolConversation = GenerateRequest(
        model: "m",
        messages: [
            ChatMessage(role: "user", content: "Weather in Paris?"),
            ChatMessage(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
            .toolResult(callID: "call_1", content: #"{"temp_c":21}"#),
        ],
        tools: [
            ToolDefinition(
                name: "get_weather", description: "Current weather",
                parameters: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#),
            ToolDefinition(name: "get_time"),
        ],
        toolChoice: "get_weather")

    static let weatherSchema = #"{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}"#

    @Test func toolsCallsAndResultsReachEachProviderInItsOwnShape() throws {
        let request = Self.toolConversation
        #expect(
            try json(OpenAIChatDialect.requestBody(for: request, model: "m"))
                == #"{"messages":[{"content":"Weather in Paris?","role":"user"},{"content":"","role":"assistant","tool_calls":[{"function":{"arguments":"{\"city\":\"Paris\"}","name":"get_weather"},"id":"call_1","type":"function"}]},{"content":"{\"temp_c\":21}","role":"tool","tool_call_id":"call_1"}],"model":"m","stream":true,"stream_options":{"include_usage":true},"tool_choice":{"function":{"name":"get_weather"},"type":"function"},"tools":[{"function":{"description":"Current weather","name":"get_weather","parameters":"#
                    + Self.weatherSchema + #"},"type":"function"},{"function":{"name":"get_time","parameters":{"properties":{},"type":"object"}},"type":"function"}]}"#)
        let responses = try json(OpenAIResponsesDialect.requestBody(for: request, model: "m"))
        #expect(responses.contains(#"{"arguments":"{\"city\":\"Paris\"}","call_id":"call_1","name":"get_weather","type":"function_call"}"#), "\(responses)")
        #expect(responses.contains(#"{"call_id":"call_1","output":"{\"temp_c\":21}","type":"function_call_output"}"#))
        #expect(responses.contains(#""tool_choice":{"name":"get_weather","type":"function"}"#))
        #expect(responses.contains(#"{"description":"Current weather","name":"get_weather","parameters":"# + Self.weatherSchema + #","type":"function"}"#))
        let anthropic = try json(AnthropicDialect.requestBody(for: request, model: "m"))
        #expect(anthropic.contains(#"{"content":[{"id":"call_1","input":{"city":"Paris"},"name":"get_weather","type":"tool_use"}],"role":"assistant"}"#), "\(anthropic)")
        #expect(anthropic.contains(#"{"content":[{"content":"{\"temp_c\":21}","tool_use_id":"call_1","type":"tool_result"}],"role":"user"}"#))
        #expect(anthropic.contains(#""tool_choice":{"name":"get_weather","type":"tool"}"#))
        #expect(anthropic.contains(#"{"description":"Current weather","input_schema":"# + Self.weatherSchema + #","name":"get_weather"}"#))
        let gemini = try json(GeminiDialect.requestBody(for: request, model: "m"))
        #expect(gemini.contains(#"{"parts":[{"functionCall":{"args":{"city":"Paris"},"name":"get_weather"}}],"role":"model"}"#), "\(gemini)")
        #expect(gemini.contains(#"{"parts":[{"functionResponse":{"name":"get_weather","response":{"temp_c":21}}}],"role":"user"}"#))
        #expect(gemini.contains(#""toolConfig":{"functionCallingConfig":{"allowedFunctionNames":["get_weather"],"mode":"ANY"}}"#))
        #expect(gemini.contains(#""tools":[{"functionDeclarations":[{"description":"Current weather","name":"get_weather","parameters":"# + Self.weatherSchema))
        let cohere = try json(CohereDialect.requestBody(for: request, model: "m"))
        #expect(cohere.contains(#""tool_calls":[{"function":{"arguments":"{\"city\":\"Paris\"}","name":"get_weather"},"id":"call_1","type":"function"}]"#), "\(cohere)")
        #expect(cohere.contains(#"{"content":"{\"temp_c\":21}","role":"tool","tool_call_id":"call_1"}"#))
        #expect(cohere.contains(#""tool_choice":"REQUIRED""#) && cohere.contains("get_weather") && !cohere.contains("get_time"))
        let ollama = try json(OllamaDialect.requestBody(for: request, model: "m"))
        #expect(ollama.contains(#""tool_calls":[{"function":{"arguments":{"city":"Paris"},"name":"get_weather"}}]"#), "\(ollama)")
        #expect(ollama.contains(#"{"content":"{\"temp_c\":21}","role":"tool","tool_name":"get_weather"}"#))
        #expect(ollama.contains(#""tools":[{"function":{"description":"Current weather","name":"get_weather""#) && !ollama.contains("get_time"))

        // "none" and "required" in each shape; no tools: no tool fields at all.
        var none = request
        none.toolChoice = "none"
        #expect(try json(OpenAIChatDialect.requestBody(for: none, model: "m")).contains(#""tool_choice":"none""#))
        #expect(try json(AnthropicDialect.requestBody(for: none, model: "m")).contains(#""tool_choice":{"type":"none"}"#))
        #expect(try json(GeminiDialect.requestBody(for: none, model: "m")).contains(#""functionCallingConfig":{"mode":"NONE"}"#))
        #expect(try !json(OllamaDialect.requestBody(for: none, model: "m")).contains(#""tools""#))
        var required = request
        required.toolChoice = "required"
        #expect(try json(OpenAIResponsesDialect.requestBody(for: required, model: "m")).contains(#""tool_choice":"required""#))
        #expect(try json(AnthropicDialect.requestBody(for: required, model: "m")).contains(#""tool_choice":{"type":"any"}"#))
        var auto = request
        auto.toolChoice = ""
        #expect(try !json(OpenAIChatDialect.requestBody(for: auto, model: "m")).contains("tool_choice"))
        for body in [
            try json(OpenAIChatDialect.requestBody(for: self.request, model: "m")), try json(AnthropicDialect.requestBody(for: self.request, model: "m")),
            try json(GeminiDialect.requestBody(for: self.request, model: "m")), try json(OllamaDialect.requestBody(for: self.request, model: "m")),
        ] {
            #expect(!body.contains("tool"), "\(body)")
        }
    }

    @Test func openAIResponsesSendsInputItems() throws {
        let body = try json(OpenAIResponsesDialect.requestBody(for: request, model: "gpt-4o"))
        #expect(body.contains(#""input":[{"content":"Be brief.","role":"system"},"#))
        #expect(body.contains(#""max_output_tokens":64"#))
        #expect(body.contains(#""stream":true"#))
    }

    @Test func anthropicMovesSystemMessagesToTheSystemPrompt() throws {
        #expect(
            try json(AnthropicDialect.requestBody(for: request, model: "claude-sonnet-4"))
                == #"{"max_tokens":64,"messages":[{"content":"Hi","role":"user"},{"content":"Hello","role":"assistant"},{"content":"Weather?","role":"user"}],"model":"claude-sonnet-4","stream":true,"system":"Be brief.","temperature":0.7}"#
        )
    }

    @Test func geminiUsesContentsWithModelRoleAndSystemInstruction() throws {
        #expect(
            try json(GeminiDialect.requestBody(for: request, model: "gemini-2.5-flash"))
                == #"{"contents":[{"parts":[{"text":"Hi"}],"role":"user"},{"parts":[{"text":"Hello"}],"role":"model"},{"parts":[{"text":"Weather?"}],"role":"user"}],"generationConfig":{"maxOutputTokens":64,"temperature":0.7},"systemInstruction":{"parts":[{"text":"Be brief."}]}}"#
        )
    }

    @Test func cohereAndOllamaSendMessagesWithTheirOptions() throws {
        let cohere = try json(CohereDialect.requestBody(for: request, model: "command-a"))
        #expect(cohere.contains(#""model":"command-a""#) && cohere.contains(#""max_tokens":64"#))
        let ollama = try json(OllamaDialect.requestBody(for: request, model: "llama3"))
        #expect(ollama.contains(#""options":{"num_predict":64,"temperature":0.7}"#))
        #expect(ollama.contains(#""stream":true"#))
    }

    @Test func aTemperatureLeftUnsetIsNotSentAndZeroIsSentAsZero() throws {
        var request = request
        request.temperature = nil
        let unset = [
            try json(OpenAIChatDialect.requestBody(for: request, model: "m")), try json(OpenAIResponsesDialect.requestBody(for: request, model: "m")),
            try json(AnthropicDialect.requestBody(for: request, model: "m")), try json(GeminiDialect.requestBody(for: request, model: "m")),
            try json(CohereDialect.requestBody(for: request, model: "m")), try json(OllamaDialect.requestBody(for: request, model: "m")),
            try json(TGIDialect.requestBody(for: request, model: "m")),
        ]
        for body in unset { #expect(!body.contains("temperature"), "\(body)") }
        request.temperature = 0
        #expect(try json(OpenAIChatDialect.requestBody(for: request, model: "m")).contains(#""temperature":0"#))
        #expect(try json(AnthropicDialect.requestBody(for: request, model: "m")).contains(#""temperature":0"#))
    }

    @Test func tgiSendsOnePromptAndGreedyDecodingForZeroTemperature() throws {
        var request = request
        request.temperature = 0
        #expect(
            try json(TGIDialect.requestBody(for: request, model: "unused"))
                == #"{"inputs":"Be brief.\nHi\nHello\nWeather?","parameters":{"details":true,"do_sample":false,"max_new_tokens":64},"stream":true}"#
        )
    }
}
