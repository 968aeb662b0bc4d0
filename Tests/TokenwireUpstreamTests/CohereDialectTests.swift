import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Cohere v2 dialect")
struct CohereDialectTests {
    private func event(_ type: String, _ json: String) -> String {
        "event: \(type)\ndata: {\"type\":\"\(type)\"\(json.isEmpty ? "" : ",")\(json)}\n\n"
    }

    @Test func toolPlanAndParallelToolCallsFinishWithToolCallsAndTokenUsage() throws {
        let run = DialectRun.run(CohereDialect.self, body: try Fixture.bytes("cohere-v2-parallel-toolcalls.reframed.sse"))
        #expect(run.error == nil)
        #expect(run.text.isEmpty)
        #expect(
            run.reasoning
                == "I will use the weather tool to find the weather in San Francisco and the cityAttractions tool to find attractions in San Francisco."
        )
        #expect(
            run.toolCalls == [
                ToolCall(id: "weather_e8p4pn45zt0t", name: "weather", arguments: #"{"location": "San Francisco"}"#),
                ToolCall(id: "cityAttractions_pyxssbwnq9fq", name: "cityAttractions", arguments: #"{"city": "San Francisco"}"#),
            ]
        )
        // usage.tokens (1549/95), not billed_units (119/44).
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 1549, outputTokens: 95)))
    }

    @Test func textAndThinkingDeltasAreRelayed() {
        let body = event("message-start", #""id":"m","delta":{"message":{"role":"assistant","content":[],"tool_calls":[]}}"#)
            + event("content-start", #""index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}"#)
            + event("content-delta", #""index":0,"delta":{"message":{"content":{"thinking":"hmm"}}}"#)
            + event("content-delta", #""index":1,"delta":{"message":{"content":{"text":"Hello"}}}"#)
            + event("content-end", #""index":1"#)
            + event(
                "message-end",
                #""delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":3,"output_tokens":1.0}}}"#
            )
        let run = DialectRun.run(CohereDialect.self, body)
        #expect(run.reasoning == "hmm")
        #expect(run.text == "Hello")
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 3, outputTokens: 1)))
    }

    @Test(arguments: [
        ("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls"),
        ("ERROR", "error"),
    ])
    func finishReasonsAreNormalised(wire: String, expected: String) {
        let run = DialectRun.run(CohereDialect.self, event("message-end", #""delta":{"finish_reason":"\#(wire)"}"#))
        #expect(run.finish == Finish(reason: expected))
    }

    @Test func streamWithoutMessageEndEndsWithUnavailable() {
        let run = DialectRun.run(CohereDialect.self, event("content-delta", #""delta":{"message":{"content":{"text":"Hi"}}}"#))
        #expect(run.text == "Hi")
        #expect(run.error == TokenwireError(code: .unavailable, message: "upstream ended the stream early (no message-end)"))
    }
}
