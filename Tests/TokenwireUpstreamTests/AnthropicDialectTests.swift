import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Anthropic dialect")
struct AnthropicDialectTests {
    private func event(_ type: String, _ json: String) -> String {
        "event: \(type)\ndata: {\"type\":\"\(type)\"\(json.isEmpty ? "" : ",")\(json)}\n\n"
    }

    @Test func textStreamWithoutFinalBlankLineCompletesThroughTheTail() throws {
        let body = try Fixture.bytes("anthropic-text-ping-no-final-blank-line.sse")
        var parser = SSEParser()
        var dialect = AnthropicDialect()
        var events: [TokenEvent] = []
        try parser.parse(body) { events += try dialect.consume($0) }
        #expect(!dialect.isComplete)
        let pending = parser.finish()
        let tail = try #require(pending)
        #expect(tail == SSEEvent(event: "message_stop", data: #"{"type":"message_stop"}"#))
        events += try dialect.finish(tail: tail)
        #expect(dialect.isComplete)

        let run = DialectRun(events: events)
        #expect(run.text == "Hello there!")
        // Output usage is cumulative: message_delta's 6 replaces message_start's 1.
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 11, outputTokens: 6)))
    }

    @Test func sameStreamWithoutTheTailEndsWithUnavailable() throws {
        let body = try Fixture.bytes("anthropic-text-ping-no-final-blank-line.sse")
        var parser = SSEParser()
        var dialect = AnthropicDialect()
        try parser.parse(body) { _ = try dialect.consume($0) }
        #expect(throws: TokenwireError(code: .unavailable, message: "upstream ended the stream early (no message_stop)")) {
            try dialect.finish(tail: nil)
        }
    }

    @Test func toolUseStreamYieldsTextAndOneCallAtItsBlockIndex() throws {
        let run = DialectRun.run(AnthropicDialect.self, body: try Fixture.bytes("anthropic-tool-use.sse"))
        #expect(run.error == nil)
        #expect(run.text == "I'll check the current weather in Paris for you.")
        #expect(
            run.toolCalls == [
                ToolCall(id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_weather", arguments: #"{"location": "Paris"}"#)
            ]
        )
        #expect(Set(run.toolCallDeltas.map(\.index)) == [1])
        #expect(run.finish == Finish(reason: "tool_calls", usage: Usage(inputTokens: 377, outputTokens: 65)))
    }

    @Test func thinkingIsRelayedAsReasoningAndSignaturesAreNotText() throws {
        let run = DialectRun.run(AnthropicDialect.self, body: try Fixture.bytes("anthropic-thinking.sse"))
        #expect(run.error == nil)
        #expect(run.reasoning.count == 1311)
        #expect(run.reasoning.hasPrefix(#"The question is asking about "the meaning of life, the universe and everything""#))
        #expect(run.reasoning.hasSuffix("of meaning is addressed in many different ways across different fictional works."))
        #expect(run.text.count == 837)
        #expect(run.text.hasPrefix("In popular fiction, the most famous answer "))
        #expect(run.text.hasSuffix("specific answer to this exact question in pop culture."))
        #expect(!run.text.contains("ErUBCkYIARgCIkCMkRFgNNhwET9y5IN2hGVaMO"))
        #expect(run.finish == Finish(reason: "stop", usage: Usage(inputTokens: 50, outputTokens: 452)))
    }

    @Test func overloadedApiErrorMidStreamThrowsUnavailable() throws {
        let run = DialectRun.run(AnthropicDialect.self, body: try Fixture.bytes("anthropic-error-midstream.sse"))
        #expect(run.events.isEmpty)
        #expect(run.error == TokenwireError(code: .unavailable, message: "Overloaded"))
    }

    @Test func textBeforeAnErrorIsEmittedAndTheErrorTailIsThrown() {
        let body = event("content_block_delta", #""index":0,"delta":{"type":"text_delta","text":"Hel"}"#)
            + #"event: error\#ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#
        let run = DialectRun.run(AnthropicDialect.self, body)
        #expect(run.text == "Hel")
        #expect(run.error == TokenwireError(code: .resourceExhausted, message: "slow down"))
    }

    @Test(arguments: [
        ("overloaded_error", GRPCStatus.Code.unavailable), ("api_error", .unavailable),
        ("rate_limit_error", .resourceExhausted), ("invalid_request_error", .invalidArgument),
        ("request_too_large", .invalidArgument), ("authentication_error", .unauthenticated),
        ("permission_error", .permissionDenied), ("not_found_error", .notFound), ("billing_error", .internal),
    ])
    func errorTypesAreMapped(type: String, expected: GRPCStatus.Code) {
        let run = DialectRun.run(AnthropicDialect.self, event("error", #""error":{"type":"\#(type)","message":"m"}"#))
        #expect(run.error == TokenwireError(code: expected, message: "m"))
    }

    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
        ("refusal", "content_filter"), ("pause_turn", "stop"),
    ])
    func stopReasonsAreNormalised(wire: String, expected: String) {
        let body = event("message_delta", #""delta":{"stop_reason":"\#(wire)"},"usage":{"output_tokens":3}"#)
            + event("message_stop", "")
        #expect(DialectRun.run(AnthropicDialect.self, body).finish == Finish(reason: expected, usage: Usage(outputTokens: 3)))
    }

    @Test func messageDeltaUsageReplacesInputAndOutputCounts() {
        let body = event("message_start", #""message":{"usage":{"input_tokens":10,"output_tokens":1}}"#)
            + event("message_delta", #""delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"output_tokens":5}"#)
            + event("message_delta", #""delta":{},"usage":{"output_tokens":9}"#)
            + event("message_stop", "")
        #expect(
            DialectRun.run(AnthropicDialect.self, body).finish
                == Finish(reason: "stop", usage: Usage(inputTokens: 12, outputTokens: 9))
        )
    }

    @Test func maxTokensWithUnfinishedToolInputFinishesWithLength() {
        let body = event("content_block_start", #""index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}"#)
            + event("content_block_delta", #""index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}"#)
            + event("message_delta", #""delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":4}"#)
            + event("message_stop", "")
        let run = DialectRun.run(AnthropicDialect.self, body)
        #expect(run.toolCalls == [ToolCall(id: "toolu_1", name: "f", arguments: #"{"a":"#)])
        #expect(run.finish?.reason == "length")
    }

    @Test func unknownEventTypesAndPingsAreIgnored() {
        let body = event("ping", "") + event("brand_new_event", #""x":1"#)
            + event("content_block_delta", #""index":0,"delta":{"type":"citations_delta","citation":{}}"#)
            + event("message_stop", "")
        let run = DialectRun.run(AnthropicDialect.self, body)
        #expect(run.events == [.finish(Finish(reason: "stop"))])
    }
}
