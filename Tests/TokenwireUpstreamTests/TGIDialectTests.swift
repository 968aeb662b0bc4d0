import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("TGI native dialect")
struct TGIDialectTests {
    private func token(_ text: String, special: Bool = false, details: String = "null") -> String {
        #"data:{"index":1,"token":{"id":5,"text":"\#(text)","logprob":-0.1,"special":\#(special)},"generated_text":null,"details":\#(details)}"#
            + "\n\n"
    }

    @Test func tokensUntilDetailsYieldTextStopAndGeneratedTokens() {
        let body = ":\n\n" + token("Hello") + token(" world") + token("</s>", special: true,
            details: #"{"finish_reason":"eos_token","generated_tokens":3,"seed":null}"#)
        let run = DialectRun.run(TGIDialect.self, body)
        #expect(run.text == "Hello world")
        #expect(run.finish == Finish(reason: "stop", usage: Usage(outputTokens: 3)))
    }

    @Test(arguments: [("eos_token", "stop"), ("stop_sequence", "stop"), ("length", "length")])
    func finishReasonsAreNormalised(wire: String, expected: String) {
        let body = token("x", details: #"{"finish_reason":"\#(wire)","generated_tokens":1,"input_length":4}"#)
        #expect(
            DialectRun.run(TGIDialect.self, body).finish
                == Finish(reason: expected, usage: Usage(inputTokens: 4, outputTokens: 1))
        )
    }

    @Test(arguments: [
        ("overloaded", GRPCStatus.Code.unavailable), ("validation", .invalidArgument), ("generation", .internal),
        ("incomplete_generation", .unavailable),
    ])
    func errorEventsAreThrownWithTheirMappedType(type: String, expected: GRPCStatus.Code) {
        let body = token("partial") + #"data:{"error":"Request failed","error_type":"\#(type)"}"# + "\n\n"
        let run = DialectRun.run(TGIDialect.self, body)
        #expect(run.text == "partial")
        #expect(run.error == TokenwireError(code: expected, message: "Request failed"))
    }

    @Test func streamWithoutDetailsEndsWithUnavailable() {
        let run = DialectRun.run(TGIDialect.self, token("a"))
        #expect(run.error?.code == .unavailable)
    }
}
