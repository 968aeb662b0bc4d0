import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("OpenAI Responses dialect")
struct OpenAIResponsesDialectTests {
    private func event(_ type: String, _ json: String) -> String {
        "event: \(type)\ndata: {\"type\":\"\(type)\"\(json.isEmpty ? "" : ",")\(json)}\n\n"
    }

    @Test func textStreamYieldsTextStopAndUsage() throws {
        let run = DialectRun.run(OpenAIResponsesDialect.self, body: try Fixture.bytes("openai-responses-text.sse"))
        #expect(run.error == nil)
        #expect(run.text == "Why did the scarecrow win an award?\n\nBecause he was outstanding in his field!")
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 11, outputTokens: 18)))
    }

    @Test func functionCallsUseCallIdAndNameFromTheAddedItem() throws {
        let run = DialectRun.run(OpenAIResponsesDialect.self, body: try Fixture.bytes("openai-responses-toolcall.sse"))
        #expect(run.error == nil)
        #expect(run.text.isEmpty)
        #expect(
            run.toolCalls == [
                ToolCall(
                    id: "call_GXd80NWdsX8ng3xdeNLeA42o",
                    name: "search",
                    arguments: #"{"query":"Detroit Tigers game time October 6, 2023"}"#
                ),
                ToolCall(id: "call_qfdHN9tTntv02109c9RNnGGe", name: "weather", arguments: #"{"city":"Detroit"}"#),
            ]
        )
        #expect(Set(run.toolCallDeltas.map(\.index)) == [0, 1])
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 92, outputTokens: 52)))
    }

    @Test func nestedErrorEventThrowsResourceExhaustedWithTheProviderMessage() throws {
        let run = DialectRun.run(OpenAIResponsesDialect.self, body: try Fixture.bytes("openai-responses-error-failed.sse"))
        #expect(run.events.isEmpty)
        #expect(run.error?.code == .resourceExhausted)
        #expect(run.error?.message.hasPrefix("Request too large for gpt-4o in project proj_f4H0b30rYp2y52CGw64BafkL") == true)
        #expect(run.error?.message.hasSuffix("to learn more.") == true)
    }

    @Test func flatErrorEventIsAcceptedToo() {
        let body = event("response.created", "") + event("error", #""code":"ERR_SOMETHING","message":"Something went wrong""#)
        let run = DialectRun.run(OpenAIResponsesDialect.self, body)
        #expect(run.error == TokenwireError(code: .internal, message: "Something went wrong"))
    }

    @Test func responseFailedWithoutAnErrorEventThrowsItsError() {
        let body = event("response.output_text.delta", #""delta":"Hi""#)
            + event("response.failed", #""response":{"status":"failed","error":{"code":"server_error","message":"oops"}}"#)
        let run = DialectRun.run(OpenAIResponsesDialect.self, body)
        #expect(run.text == "Hi")
        #expect(run.error == TokenwireError(code: .unavailable, message: "oops"))
    }

    @Test func incompleteResponseFinishesWithLength() {
        let body = event("response.output_text.delta", #""delta":"Hi""#)
            + event(
                "response.incomplete",
                #""response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":1}}"#
            )
        let run = DialectRun.run(OpenAIResponsesDialect.self, body)
        #expect(run.finish == Finish(reason: "length", usage: Usage(inputTokens: 3, outputTokens: 1)))
    }

    @Test func completedEventWithIncompleteStatusFinishesWithLength() {
        let body = event("response.completed", #""response":{"status":"incomplete"}"#)
        #expect(DialectRun.run(OpenAIResponsesDialect.self, body).finish == Finish(reason: "length"))
    }

    @Test func reasoningSummaryDeltasAreRelayedAsReasoning() {
        let body = event("response.reasoning_summary_text.delta", #""delta":"Let me ""#)
            + event("response.reasoning_text.delta", #""delta":"think.""#)
            + event("response.output_text.delta", #""delta":"Done""#)
            + event("response.completed", #""response":{"status":"completed"}"#)
        let run = DialectRun.run(OpenAIResponsesDialect.self, body)
        #expect(run.reasoning == "Let me think.")
        #expect(run.text == "Done")
        #expect(run.finish == Finish(reason: "stop"))
    }

    @Test func argumentsOnlyInTheDoneEventAreSentFromThere() {
        let body = event(
            "response.output_item.added",
            #""output_index":2,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":""}"#
        ) + event("response.function_call_arguments.done", #""item_id":"fc_1","arguments":"{\"a\":1}""#)
            + event("response.completed", #""response":{"status":"completed"}"#)
        let run = DialectRun.run(OpenAIResponsesDialect.self, body)
        #expect(run.toolCalls == [ToolCall(id: "call_1", name: "f", arguments: #"{"a":1}"#)])
        #expect(run.toolCallDeltas.map(\.index) == [2, 2])
    }

    @Test func streamWithoutATerminalEventEndsWithUnavailable() {
        let run = DialectRun.run(OpenAIResponsesDialect.self, event("response.output_text.delta", #""delta":"Hi""#))
        #expect(run.text == "Hi")
        #expect(
            run.error == TokenwireError(code: .unavailable, message: "upstream ended the stream early (no response.completed)")
        )
    }

    @Test func completedEventWithoutFinalBlankLineIsAcceptedAsTheTail() {
        let body = event("response.output_text.delta", #""delta":"Hi""#)
            + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\"}}"
        #expect(DialectRun.run(OpenAIResponsesDialect.self, body).finish == Finish(reason: "stop"))
    }
}
