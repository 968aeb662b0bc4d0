import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

@Suite("Protobuf encoding of the wire messages")
struct WireMessageTests {
    static let frames: [TokenFrame] = [
        TokenFrame(
            seq: 1,
            event: .start(
                StreamStart(streamID: "s-1", model: "openai/gpt-4o-mini", provider: "openai", resumeToken: "r")
            )
        ),
        TokenFrame(seq: 2, event: .text("Hello, wörld ☺ 😈")),
        TokenFrame(seq: 3, event: .text("")),
        TokenFrame(
            seq: 4, index: 7,
            event: .toolCall(ToolCallDelta(index: 1, id: "call_1", name: "lookup", arguments: "{\"q\":"))
        ),
        TokenFrame(seq: 5, event: .reasoning("thinking…")),
        TokenFrame(seq: 6, event: .heartbeat),
        TokenFrame(seq: 7, index: 3, event: .error(ItemError(code: 14, message: "upstream unavailable"))),
        TokenFrame(seq: 8, event: .finish(Finish(reason: "stop", usage: Usage(inputTokens: 12, outputTokens: 34)))),
        TokenFrame(seq: 9, event: .finish(Finish(reason: "length"))),
        TokenFrame(seq: 10, event: .finish(Finish(reason: "stop", usage: Usage()))),
        TokenFrame(seq: UInt64.max, index: UInt32.max, event: nil),
    ]

    @Test("TokenFrame round-trips", arguments: frames)
    func tokenFrameRoundTrips(frame: TokenFrame) throws {
        #expect(try roundTrip(frame) == frame)
    }

    @Test func generateRequestWithEveryFieldRoundTrips() throws {
        let request = GenerateRequest(
            model: "anthropic/claude",
            messages: [
                ChatMessage(role: "system", content: "Be brief."),
                ChatMessage(role: "user", content: "Ünïcödé ☺ and 😈, and \"quotes\"\n"),
                ChatMessage(role: "assistant", content: ""),
            ],
            maxTokens: 1000,
            temperature: 0.7,
            resumeToken: "resume-me",
            resumeAfterSeq: 42,
            metadata: ["tenant": "acme", "trace": "abc", "": "empty key", "emoji 😈": ""]
        )
        #expect(try roundTrip(request) == request)
        // Temperature has presence: unset and 0 are different requests, and both survive.
        var unset = request
        unset.temperature = nil
        #expect(try roundTrip(unset) == unset)
        var zero = request
        zero.temperature = 0
        #expect(try roundTrip(zero).temperature == 0)
        var bytes = ByteBuffer()
        GenerateRequest(model: "m", temperature: 0).encode(into: &bytes)
        // model (1) = "m", then temperature (4, fixed32) = 0.0: sent although it is 0.
        #expect(bytes.hexString == "0a016d" + "2500000000")
        var none = ByteBuffer()
        GenerateRequest(model: "m").encode(into: &none)
        #expect(none.hexString == "0a016d")
    }

    @Test func generateRequestMetadataEncodesInKeyOrder() {
        var forward = ByteBuffer()
        var backward = ByteBuffer()
        let keys = (0..<20).map { "key-\($0)" }
        GenerateRequest(model: "m", metadata: Dictionary(uniqueKeysWithValues: keys.map { ($0, $0) }))
            .encode(into: &forward)
        GenerateRequest(model: "m", metadata: Dictionary(uniqueKeysWithValues: keys.reversed().map { ($0, $0) }))
            .encode(into: &backward)
        #expect(forward == backward)
    }

    @Test func batchRequestRoundTrips() throws {
        let batch = BatchRequest(
            items: [
                GenerateRequest(model: "synthetic/flood", maxTokens: 5),
                GenerateRequest(
                    model: "openai/gpt-4o-mini",
                    messages: [ChatMessage(role: "user", content: "hi")],
                    metadata: ["k": "v"]
                ),
                GenerateRequest(model: ""),
            ],
            maxConcurrency: 8
        )
        #expect(try roundTrip(batch) == batch)
        #expect(try roundTrip(BatchRequest(items: [])) == BatchRequest(items: []))
    }

    @Test func completionRoundTripsWithAndWithoutFinish() throws {
        let full = Completion(
            model: "openai/gpt-4o-mini",
            text: "The answer is 42 ☺",
            toolCalls: [
                ToolCall(id: "call_1", name: "lookup", arguments: "{\"q\":\"fox\"}"),
                ToolCall(id: "call_2", name: "sum", arguments: "{}"),
            ],
            finish: Finish(reason: "tool_calls", usage: Usage(inputTokens: 1, outputTokens: 2))
        )
        #expect(try roundTrip(full) == full)
        let bare = Completion(model: "m")
        #expect(try roundTrip(bare) == bare)
        let finishWithoutUsage = Completion(model: "m", finish: Finish(reason: "stop"))
        #expect(try roundTrip(finishWithoutUsage) == finishWithoutUsage)
    }

    @Test("HealthCheckResponse round-trips", arguments: [ServingStatus.unknown, .serving, .notServing, .serviceUnknown])
    func healthCheckResponseRoundTrips(status: ServingStatus) throws {
        #expect(try roundTrip(HealthCheckResponse(status: status)) == HealthCheckResponse(status: status))
    }

    @Test func healthCheckRequestRoundTrips() throws {
        #expect(try roundTrip(HealthCheckRequest()) == HealthCheckRequest())
        let named = HealthCheckRequest(service: "tokenwire.v1.TokenStream")
        #expect(try roundTrip(named) == named)
    }

    @Test func healthStatusFromNewerServerDecodesAsUnknown() throws {
        // status = 9, a value this version has no name for (proto3 enums are open).
        #expect(try HealthCheckResponse(decoding: ByteBuffer(hex: "0809")) == HealthCheckResponse(status: .unknown))
    }

    @Test func defaultMessageEncodesToNoBytesAndDecodesFromThem() throws {
        var buffer = ByteBuffer()
        GenerateRequest(model: "").encode(into: &buffer)
        HealthCheckRequest().encode(into: &buffer)
        HealthCheckResponse(status: .unknown).encode(into: &buffer)
        #expect(buffer.readableBytes == 0)
        #expect(try GenerateRequest(decoding: ByteBuffer()) == GenerateRequest(model: ""))
        #expect(try TokenFrame(decoding: ByteBuffer()) == TokenFrame(seq: 0, event: nil))
    }

    @Test func textFrameEncodesAsTheProtoSpecifies() {
        var buffer = ByteBuffer()
        TokenFrame(seq: 1, event: .text("the ")).encode(into: &buffer)
        // seq (field 1, varint) = 1; text (field 4, length-delimited) = "the ".
        #expect(buffer.hexString == "0801" + "2204" + "74686520")
    }

    @Test func emptyTextIsStillSentBecauseTheOneofHasPresence() {
        var buffer = ByteBuffer()
        TokenFrame(seq: 1, event: .text("")).encode(into: &buffer)
        #expect(buffer.hexString == "08012200")
    }

    @Test func eventFromNewerServerDecodesAsNil() throws {
        // seq = 5, then field 15 (length-delimited, empty): a oneof case this version lacks.
        let frame = try TokenFrame(decoding: ByteBuffer(hex: "0805 7a00"))
        #expect(frame == TokenFrame(seq: 5, event: nil))
    }

    @Test func jsonSnapshotIsField10AndFinishCarriesItsVerdictInField3() throws {
        var buffer = ByteBuffer()
        TokenFrame(seq: 5, event: .jsonSnapshot("{}")).encode(into: &buffer)
        #expect(buffer.hexString == "0805" + "5202" + "7b7d")
        var finish = ByteBuffer()
        TokenFrame(seq: 6, event: .finish(Finish(reason: "stop", json: JSONCheck(verdict: .incomplete, error: "e")))).encode(into: &finish)
        // finish (field 7) { reason (1) = "stop", json (3) { verdict (1) = 2, error (2) = "e" } }
        #expect(finish.hexString == "0806" + "3a0d" + "0a0473746f70" + "1a05" + "0802" + "120165")
        let decoded = try TokenFrame(decoding: finish)
        #expect(decoded.event == .finish(Finish(reason: "stop", json: JSONCheck(verdict: .incomplete, error: "e"))))
        var request = ByteBuffer()
        GenerateRequest(model: "m", responseFormat: .jsonSchema("{}", name: "n", delivery: .snapshots)).encode(into: &request)
        // model (1) = "m", response_format (8) { type (1) = 2, schema (2) = "{}", schema_name (3) = "n", delivery (4) = 2 }
        #expect(request.hexString == "0a016d" + "420b" + "0802" + "12027b7d" + "1a016e" + "2002")
        #expect(try GenerateRequest(decoding: request).responseFormat == .jsonSchema("{}", name: "n", delivery: .snapshots))
    }

    @Test func invalidUTF8InAStringDecodesAsReplacementCharacter() throws {
        // text = 0x66 0xFF 0x6F: not UTF-8. protobuf-c does not validate UTF-8, so the
        // bytes reach Swift, which repairs them.
        let frame = try TokenFrame(decoding: ByteBuffer(hex: "0801 2203 66ff6f"))
        #expect(frame.event == .text("f\u{FFFD}o"))
    }

    @Test func encodeAppendsAfterWhatTheBufferHolds() throws {
        var buffer = ByteBuffer(string: "prefix")
        TokenFrame(seq: 1, event: .text("x")).encode(into: &buffer)
        #expect(buffer.readString(length: 6) == "prefix")
        #expect(try TokenFrame(decoding: buffer) == TokenFrame(seq: 1, event: .text("x")))
    }

    private func roundTrip<Message: WireMessage>(_ message: Message) throws -> Message {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return try Message(decoding: buffer)
    }
}
