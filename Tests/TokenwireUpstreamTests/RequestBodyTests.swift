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
