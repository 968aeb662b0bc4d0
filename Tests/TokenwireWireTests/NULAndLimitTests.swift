import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

/// A NUL is data, long status messages are cut, and a request's element count is bounded
/// before protobuf-c allocates for it.
@Suite("NUL-safe strings, capped status messages, bounded request shapes")
struct NULAndLimitTests {
    func roundTrip<M: WireMessage & Equatable>(_ message: M) throws -> M {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return try M(decoding: buffer)
    }

    @Test func generateRequestKeepsEveryNULInEveryStringField() throws {
        let request = GenerateRequest(
            model: "m\0odel",
            messages: [ChatMessage(role: "us\0er", content: "before\0after\0")],
            maxTokens: 3,
            resumeToken: "\0token",
            metadata: ["k\0ey": "va\0lue"])
        #expect(try roundTrip(request) == request)
    }

    @Test(
        "TokenFrame text, reasoning, tool calls and errors keep their NULs",
        arguments: [
            TokenEvent.text("a\0b"), .text("\0"), .reasoning("think\0ing"),
            .toolCall(ToolCallDelta(index: 2, id: "c\0", name: "n\0", arguments: "{\"a\":\"\0\"}")),
            .error(ItemError(code: 13, message: "bad\0thing")),
            .start(StreamStart(streamID: "s\0", model: "m\0", provider: "p\0", resumeToken: "r\0")),
            .finish(Finish(reason: "st\0op")),
        ])
    func tokenFrameKeepsNULs(event: TokenEvent) throws {
        let frame = TokenFrame(seq: 9, event: event)
        #expect(try roundTrip(frame) == frame)
    }

    @Test func completionKeepsNULs() throws {
        let completion = Completion(
            model: "m\0", text: "x\0y", toolCalls: [ToolCall(id: "i\0", name: "n\0", arguments: "{}\0", argumentsError: "e\0")],
            finish: Finish(reason: "stop"))
        #expect(try roundTrip(completion) == completion)
    }

    @Test func nulTextEncodesToTheSameBytesAsAStockProtobufEncoder() {
        // field 4 (text), length 3, "a", NUL, "b": what protoc's runtimes write for a string.
        var buffer = ByteBuffer()
        TokenFrame(seq: 1, event: .text("a\0b")).encode(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x08, 0x01, 0x22, 0x03, 0x61, 0x00, 0x62])
    }

    @Test func statusMessageUnderTheLimitIsUnchanged() {
        let message = String(repeating: "a", count: GRPCStatusMessage.maxEncodedLength)
        #expect(GRPCStatusMessage.percentEncode(message) == message)
    }

    @Test(arguments: [1, 2, 3, 4])
    func statusMessageOverTheLimitIsCutBetweenCharactersWithAnEllipsis(scalarBytes: Int) {
        let scalar = ["a", "é", "☺", "😈"][scalarBytes - 1]
        let message = String(repeating: scalar, count: 100_000)
        let encoded = GRPCStatusMessage.percentEncode(message)
        #expect(encoded.utf8.count <= GRPCStatusMessage.maxEncodedLength)
        #expect(encoded.utf8.count > GRPCStatusMessage.maxEncodedLength - 9 - 3 * scalarBytes)
        #expect(encoded.hasSuffix("%E2%80%A6"))
        let decoded = GRPCStatusMessage.percentDecode(encoded)
        #expect(decoded.dropLast().allSatisfy { String($0) == scalar })
        #expect(!decoded.contains("\u{FFFD}"))
    }

    @Test func generateRequestWithTooManyMessagesIsRefusedBeforeUnpacking() throws {
        let request = GenerateRequest(
            model: "m", messages: Array(repeating: ChatMessage(role: "", content: ""), count: RequestShapeLimits.maxChatMessages + 1))
        var buffer = ByteBuffer()
        request.encode(into: &buffer)
        #expect(throws: TokenwireError.invalidArgument("the request has 10001 chat messages; at most 10000 are accepted")) {
            try GenerateRequest(decoding: buffer)
        }
    }

    @Test func generateRequestAtTheMessageLimitDecodes() throws {
        let request = GenerateRequest(
            model: "m", messages: Array(repeating: ChatMessage(role: "user", content: "x"), count: RequestShapeLimits.maxChatMessages))
        #expect(try roundTrip(request) == request)
    }

    @Test func generateRequestWithTooManyMetadataEntriesIsRefused() throws {
        var metadata: [String: String] = [:]
        for key in 0...RequestShapeLimits.maxMetadataEntries { metadata["k\(key)"] = "v" }
        var buffer = ByteBuffer()
        GenerateRequest(model: "m", metadata: metadata).encode(into: &buffer)
        #expect(throws: TokenwireError.invalidArgument("the request has 1001 metadata entries; at most 1000 are accepted")) {
            try GenerateRequest(decoding: buffer)
        }
    }

    @Test func batchWhoseItemsTogetherCarryTooManyElementsIsRefused() throws {
        let item = GenerateRequest(model: "m", messages: Array(repeating: ChatMessage(role: "", content: ""), count: 9_000))
        var buffer = ByteBuffer()
        BatchRequest(items: Array(repeating: item, count: 12)).encode(into: &buffer)
        #expect(throws: TokenwireError.self) { try BatchRequest(decoding: buffer) }
        do {
            _ = try BatchRequest(decoding: buffer)
        } catch {
            #expect(error.message.contains("108000 messages, metadata entries, tools and tool calls"))
        }
    }

    @Test func batchItemWithTooManyMessagesIsRefusedNamingTheItem() throws {
        let small = GenerateRequest(model: "m")
        let big = GenerateRequest(model: "m", messages: Array(repeating: ChatMessage(role: "", content: ""), count: 10_001))
        var buffer = ByteBuffer()
        BatchRequest(items: [small, big]).encode(into: &buffer)
        #expect(throws: TokenwireError.invalidArgument("batch item 1 has 10001 chat messages; at most 10000 are accepted")) {
            try BatchRequest(decoding: buffer)
        }
    }
}
