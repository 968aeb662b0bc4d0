import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("OpenAI chat dialect")
struct OpenAIChatDialectTests {
    private func run(fixture name: String) throws -> DialectRun {
        DialectRun.run(OpenAIChatDialect.self, body: try Fixture.bytes(name))
    }

    @Test func textStreamWithUsageChunkYieldsTextStopAndUsage() throws {
        let run = try run(fixture: "openai-chat-text-usage.sse")
        #expect(run.error == nil)
        #expect(
            run.text
                == "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app."
        )
        #expect(run.toolCalls.isEmpty)
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 14, outputTokens: 30)))
    }

    @Test func parallelToolCallsAreAssembledByIndex() throws {
        let run = try run(fixture: "openai-chat-parallel-toolcalls.sse")
        #expect(run.error == nil)
        #expect(run.text.isEmpty)
        #expect(
            run.toolCalls == [
                ToolCall(
                    id: "call_JMW1whyEaYG438VE1OIflxA2",
                    name: "GetWeatherArgs",
                    arguments: #"{"city": "Edinburgh", "country": "GB", "units": "c"}"#
                ),
                ToolCall(
                    id: "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                    name: "get_stock_price",
                    arguments: #"{"ticker": "AAPL", "exchange": "NASDAQ"}"#
                ),
            ]
        )
        #expect(run.toolCallDeltas.filter { $0.index == 0 }.count == 12)
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 149, outputTokens: 60)))
    }

    @Test func maxTokensReachedFinishesWithLength() throws {
        let run = try run(fixture: "openai-chat-length.sse")
        #expect(run.text == #"{""#)
        #expect(run.finish == Finish(reason: "length", usage: Usage(inputTokens: 79, outputTokens: 1)))
    }

    @Test func threeChoicesRelayOnlyChoiceZeroWithUsageForAll() throws {
        let run = try run(fixture: "openai-chat-n3-choices.sse")
        #expect(run.text == #"{"city":"San Francisco","temperature":65,"units":"f"}"#)
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 79, outputTokens: 42)))
    }

    @Test func refusalIsRelayedAsText() throws {
        let run = try run(fixture: "openai-chat-refusal.sse")
        #expect(run.text == "I'm sorry, I can't assist with that request.")
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 79, outputTokens: 11)))
    }

    @Test func errorMidStreamThrowsUnavailableAfterThePartialText() throws {
        let run = try run(fixture: "openai-chat-error-midstream.sse")
        #expect(run.text == #"The question ""#)
        #expect(run.finishes.isEmpty)
        #expect(
            run.error
                == TokenwireError(
                    code: .unavailable,
                    message: "The server had an error while processing your request. Sorry about that!"
                )
        )
    }

    @Test func mistralCompleteToolCallsWithUsageOnTheLastChoiceChunk() throws {
        let run = try run(fixture: "mistral-parallel-toolcalls.sse")
        #expect(run.error == nil)
        #expect(
            run.toolCalls == [
                ToolCall(id: "yBvJuId6u", name: "search", arguments: #"{"query": "Detroit Tigers game time today"}"#),
                ToolCall(id: "ihQrVBDfy", name: "weather", arguments: #"{"city": "Detroit"}"#),
            ]
        )
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 164, outputTokens: 25)))
    }

    @Test func tgiChatStreamFinishesWithLengthAndUsage() throws {
        let run = try run(fixture: "tgi-chat-length-usage.reframed.sse")
        #expect(run.text == "**Deep Learning: An Overview**\n=====================================\n\n")
        #expect(run.finish == Finish(reason: "length", usage: Usage(inputTokens: 40, outputTokens: 10)))
    }

    @Test func streamWithoutDoneEndsWithUnavailable() throws {
        let body = try Fixture.bytes("openai-chat-text-usage.sse")
        let cut = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "data: [DONE]\n\n", with: "")
        #expect(cut.utf8.count < body.count)
        let run = DialectRun.run(OpenAIChatDialect.self, cut)
        #expect(run.text.hasPrefix("I'm unable to provide real-time weather updates."))
        #expect(run.finishes.isEmpty)
        #expect(run.error == TokenwireError(code: .unavailable, message: "upstream ended the stream early (no [DONE])"))
    }

    @Test func streamCutInsideAnEventEndsWithUnavailableNotInternal() throws {
        let body = try Fixture.bytes("openai-chat-length.sse")
        let run = DialectRun.run(OpenAIChatDialect.self, body: Array(body[..<400]))
        #expect(run.error?.code == .unavailable)
    }

    @Test func doneWithoutFinalBlankLineIsAcceptedAsTheTail() {
        let run = DialectRun.run(OpenAIChatDialect.self, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]")
        #expect(run.text == "hi")
        #expect(run.finish == Finish(reason: "stop"))
    }

    @Test func doneAfterAnErrorDoesNotMakeTheStreamSuccessful() {
        // vLLM sends its error as a data event and then [DONE] anyway.
        let body = """
            data: {"choices":[{"index":0,"delta":{"content":"par"}}]}

            data: {"error":{"message":"Expected a list","type":"BadRequestError","param":null,"code":400}}

            data: [DONE]


            """
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.text == "par")
        #expect(run.finishes.isEmpty)
        #expect(run.error == TokenwireError(code: .invalidArgument, message: "Expected a list"))

        var dialect = OpenAIChatDialect()
        #expect(throws: TokenwireError.self) { try dialect.consume(SSEEvent(data: #"{"error":{"message":"x"}}"#)) }
        #expect(throws: TokenwireError.self) { try dialect.consume(SSEEvent(data: "[DONE]")) }
        #expect(throws: TokenwireError.self) { try dialect.finish(tail: nil) }
        #expect(!dialect.isComplete)
    }

    @Test func legacyVLLMTopLevelErrorObjectIsThrown() {
        let run = DialectRun.run(
            OpenAIChatDialect.self,
            "data: {\"object\":\"error\",\"message\":\"model busy\",\"type\":\"ServiceUnavailableError\",\"code\":503}\n\n"
        )
        #expect(run.error == TokenwireError(code: .unavailable, message: "model busy"))
    }

    @Test(arguments: [
        ("rate_limit_exceeded", "requests", GRPCStatus.Code.resourceExhausted),
        ("insufficient_quota", "insufficient_quota", .resourceExhausted),
        ("invalid_api_key", "invalid_request_error", .unauthenticated),
        ("model_not_found", "invalid_request_error", .notFound),
        ("context_length_exceeded", "invalid_request_error", .invalidArgument),
        ("", "server_error", .unavailable),
        ("weird", "weird", .internal),
    ])
    func providerErrorCodesAreMapped(code: String, type: String, expected: GRPCStatus.Code) {
        let data = #"{"error":{"message":"boom","type":"\#(type)","code":"\#(code)"}}"#
        let run = DialectRun.run(OpenAIChatDialect.self, "data: \(data)\n\n")
        #expect(run.error == TokenwireError(code: expected, message: "boom"))
    }

    @Test func malformedJSONIsInternalNamingTheDialectWithAnExcerpt() {
        let run = DialectRun.run(OpenAIChatDialect.self, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"\n\n")
        #expect(run.error?.code == .internal)
        #expect(run.error?.message.contains("openai-chat") == true)
        #expect(run.error?.message.contains(#"{"choices":[{"index":0"#) == true)
    }

    @Test func reasoningFieldsOfCompatibleServersAreRelayedAsReasoning() {
        let body = """
            data: {"choices":[{"index":0,"delta":{"reasoning_content":"think "}}]}

            data: {"choices":[{"index":0,"delta":{"reasoning":"more"}}]}

            data: {"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":" typed"}]}]}}]}

            data: {"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"2 + 2 = 4"}]}}]}

            data: {"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}

            data: [DONE]


            """
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.reasoning == "think more typed")
        #expect(run.text == "2 + 2 = 4")
        #expect(run.finish == Finish(reason: "stop"))
    }

    @Test func repeatedIdOnEveryFragmentIsForwardedButNotConcatenated() {
        // TGI repeats id "0", type and index on every fragment, and sends no finish reason.
        let body = """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"0","type":"function","function":{"name":"get_weather","arguments":"{\\"loc"}}]}}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"0","type":"function","function":{"arguments":"ation\\":\\"Paris\\"}"}}]}}]}

            data: [DONE]


            """
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.toolCallDeltas.map(\.id) == ["0", "0"])
        #expect(run.toolCalls == [ToolCall(id: "0", name: "get_weather", arguments: #"{"location":"Paris"}"#)])
        #expect(run.finish == Finish(reason: "tool_calls"))
    }

    @Test func newIdAtAnUsedIndexStartsANewCallAndIndexesNeedNotStartAtZero() {
        let body = """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{\\"x\\":1}"}}]}}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]}

            data: [DONE]


            """
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.toolCallDeltas.map(\.index) == [1, 1])
        #expect(
            run.toolCalls == [ToolCall(id: "a", name: "f", arguments: "{}"), ToolCall(id: "b", name: "g", arguments: #"{"x":1}"#)]
        )
        #expect(run.finish?.reason == "tool_calls")
    }

    @Test func argumentsSentAsAJSONObjectAreSerialisedToText() {
        let body = """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":{"b":[1,2.5,true,null],"a":"x\\"y"}}}]},"finish_reason":"tool_calls"}]}

            data: [DONE]


            """
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.toolCalls == [ToolCall(id: "c1", name: "f", arguments: #"{"a":"x\"y","b":[1,2.5,true,null]}"#)])
    }

    @Test(arguments: [
        ("stop", "stop"), ("length", "length"), ("tool_calls", "tool_calls"), ("content_filter", "content_filter"),
        ("function_call", "tool_calls"), ("eos_token", "stop"), ("stop_sequence", "stop"),
    ])
    func finishReasonsAreNormalised(wire: String, expected: String) {
        let run = DialectRun.run(
            OpenAIChatDialect.self,
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"\(wire)\"}]}\n\ndata: [DONE]\n\n"
        )
        #expect(run.finish?.reason == expected)
    }

    @Test func keepAliveCommentsAndEmptyEventsAreIgnored() {
        let body = ": OPENROUTER PROCESSING\n\ndata:\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n:\n\ndata: [DONE]\n\n"
        let run = DialectRun.run(OpenAIChatDialect.self, body)
        #expect(run.text == "ok")
        #expect(run.finish == Finish(reason: "stop"))
    }
}
