import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Gemini dialect")
struct GeminiDialectTests {
    private func chunk(parts: String = "", finishReason: String? = nil, usage: String? = nil) -> String {
        let finish = finishReason.map { #","finishReason":"\#($0)""# } ?? ""
        let usage = usage.map { #","usageMetadata":\#($0)"# } ?? ""
        return #"data: {"candidates":[{"content":{"parts":[\#(parts)],"role":"model"}\#(finish),"index":0}]\#(usage)}"#
            + "\r\n\r\n"
    }

    @Test func crlfStreamWithThoughtsAndAFunctionCallFinishesWithToolCalls() throws {
        let run = DialectRun.run(GeminiDialect.self, body: try Fixture.bytes("gemini-thought-functioncall-crlf.sse"))
        #expect(run.error == nil)
        #expect(run.text.isEmpty)
        #expect(run.reasoning.count == 730)
        #expect(run.reasoning.hasPrefix("**Checking the Weather Data**\n\nI'm currently focused on"))
        #expect(run.reasoning.contains("**Refining Coat Recommendations**"))
        #expect(run.toolCalls == [ToolCall(id: "call_0", name: "weather", arguments: #"{"city":"San Francisco"}"#)])
        // Output counts the thinking tokens too: 15 candidates + 95 thoughts.
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 131, outputTokens: 110)))
    }

    @Test func parallelFunctionCallsInOneChunkGetStableGeneratedIds() {
        let body = chunk(
            parts: #"{"functionCall":{"name":"a","args":{"z":1,"y":{"k":[true]}}}},{"functionCall":{"name":"b","args":{}}}"#
        ) + chunk(parts: #"{"functionCall":{"name":"c"}}"#, finishReason: "STOP")
        let run = DialectRun.run(GeminiDialect.self, body)
        #expect(
            run.toolCalls == [
                ToolCall(id: "call_0", name: "a", arguments: #"{"y":{"k":[true]},"z":1}"#),
                ToolCall(id: "call_1", name: "b", arguments: "{}"),
                ToolCall(id: "call_2", name: "c", arguments: "{}"),
            ]
        )
        #expect(run.toolCallDeltas.map(\.index) == [0, 1, 2])
        #expect(run.finish?.reason == "tool_calls")
    }

    @Test(arguments: [
        ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"), ("OTHER", "error"),
    ])
    func finishReasonsAreNormalised(wire: String, expected: String) {
        let run = DialectRun.run(GeminiDialect.self, chunk(parts: #"{"text":"Hi"}"#, finishReason: wire))
        #expect(run.text == "Hi")
        #expect(run.finish?.reason == expected)
    }

    @Test func lastUsageMetadataWins() {
        let body = chunk(parts: #"{"text":"a"}"#, usage: #"{"promptTokenCount":5,"candidatesTokenCount":1}"#)
            + chunk(parts: #"{"text":"b"}"#, finishReason: "STOP", usage: #"{"promptTokenCount":5,"candidatesTokenCount":2}"#)
        let run = DialectRun.run(GeminiDialect.self, body)
        #expect(run.text == "ab")
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 5, outputTokens: 2)))
    }

    @Test func streamWithoutAFinishReasonEndsWithUnavailable() {
        let run = DialectRun.run(GeminiDialect.self, chunk(parts: #"{"text":"Hi"}"#))
        #expect(run.text == "Hi")
        #expect(run.error?.code == .unavailable)
        #expect(run.error?.message.hasPrefix("upstream ended the stream early (no ") == true)
    }

    @Test func finalChunkWithoutBlankLineIsAcceptedAsTheTail() {
        let body = chunk(parts: #"{"text":"Hi"}"#) + #"data: {"candidates":[{"finishReason":"STOP"}]}"#
        #expect(DialectRun.run(GeminiDialect.self, body).finish == Finish(reason: "stop"))
    }

    @Test func errorObjectInAChunkIsThrownWithItsStatus() {
        let body = chunk(parts: #"{"text":"Hi"}"#)
            + #"data: {"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#
            + "\r\n\r\n"
        let run = DialectRun.run(GeminiDialect.self, body)
        #expect(run.text == "Hi")
        #expect(run.error == TokenwireError(code: .resourceExhausted, message: "Resource has been exhausted"))
    }

    @Test func blockedPromptFinishesWithContentFilter() {
        let run = DialectRun.run(GeminiDialect.self, #"data: {"promptFeedback":{"blockReason":"SAFETY"}}"# + "\n\n")
        #expect(run.finish == Finish(reason: "content_filter"))
    }
}
