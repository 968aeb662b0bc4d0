import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Ollama dialect")
struct OllamaDialectTests {
    @Test func chatStreamYieldsTextStopAndEvalCounts() throws {
        let run = DialectRun.run(OllamaDialect.self, body: try Fixture.bytes("ollama-chat-text.ndjson"))
        #expect(run.error == nil)
        #expect(
            run.text
                == "I am Granite, a language model developed by IBM in 2024. I am designed to understand and respond to a wide range of questions and prompts."
        )
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 37, outputTokens: 37)))
    }

    @Test func errorLineMidStreamThrowsAfterThePartialText() throws {
        let run = DialectRun.run(OllamaDialect.self, body: try Fixture.bytes("ollama-generate-error-midstream.ndjson"))
        #expect(run.text == " Yes.Ican")
        #expect(run.finishes.isEmpty)
        #expect(run.error == TokenwireError(code: .internal, message: "an error was encountered while running the model"))
    }

    @Test func thinkingAndWholeToolCallsGetReasoningAndGeneratedIds() {
        let body = """
            {"message":{"role":"assistant","content":"","thinking":"Let me check."},"done":false}
            {"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}
            {"message":{"role":"assistant","content":"","tool_calls":[{"id":"call_x","function":{"index":1,"name":"get_time","arguments":{}}}]},"done":false}
            {"message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"prompt_eval_count":20,"eval_count":9}

            """
        let run = DialectRun.run(OllamaDialect.self, body)
        #expect(run.reasoning == "Let me check.")
        #expect(
            run.toolCalls == [
                ToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ToolCall(id: "call_x", name: "get_time", arguments: "{}"),
            ]
        )
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 20, outputTokens: 9)))
    }

    @Test func doneLineWithoutNewlineCompletesWithLength() {
        let run = DialectRun.run(OllamaDialect.self, "{\"response\":\"a\",\"done\":false}\r\n{\"response\":\"\",\"done\":true,\"done_reason\":\"length\"}")
        #expect(run.text == "a")
        #expect(run.finish == Finish(reason: "length"))
    }

    @Test func streamWithoutDoneEndsWithUnavailable() {
        let run = DialectRun.run(OllamaDialect.self, "{\"response\":\"a\",\"done\":false}\n{\"response\":\"b\",\"do")
        #expect(run.text == "a")
        #expect(run.error?.code == .unavailable)
    }

    @Test func errorNamingAMissingModelIsNotFound() {
        let run = DialectRun.run(OllamaDialect.self, "{\"error\":\"model 'llama9' not found, try pulling it first\"}\n")
        #expect(run.error == TokenwireError(code: .notFound, message: "model 'llama9' not found, try pulling it first"))
    }
}
