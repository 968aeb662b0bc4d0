import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer

/// The client's batch framing checks, as a value (no I/O).
@Suite("BatchResultAssembler")
struct BatchResultAssemblerTests {
    let start = TokenEvent.start(StreamStart(streamID: "s", model: "m", provider: "p"))

    @Test func interleavedItemsEachYieldTheirResultWhenTheyEnd() throws {
        var assembler = BatchResultAssembler()
        let frames: [TokenFrame] = [
            TokenFrame(seq: 1, index: 1, event: start),
            TokenFrame(seq: 2, index: 0, event: start),
            TokenFrame(seq: 3, index: 1, event: .text("a")),
            TokenFrame(seq: 4, index: 0, event: .toolCall(ToolCallDelta(index: 0, id: "c", name: "f", arguments: "{"))),
            TokenFrame(seq: 5, index: 1, event: .error(ItemError(code: 14, message: "gone"))),
            TokenFrame(seq: 6, index: 0, event: .toolCall(ToolCallDelta(index: 0, arguments: "}"))),
            TokenFrame(seq: 7, index: 0, event: .finish(Finish(reason: "tool_calls"))),
        ]
        var results: [BatchItemResult] = []
        for frame in frames {
            if let result = try assembler.add(frame) { results.append(result) }
        }
        try assembler.finish()
        #expect(results.map(\.index) == [1, 0])
        #expect(results[0].text == "a" && results[0].error == ItemError(code: 14, message: "gone") && !results[0].succeeded)
        #expect(results[1].toolCalls == [ToolCall(id: "c", name: "f", arguments: "{}")] && results[1].succeeded)
    }

    @Test func aGapInSeqIsAnInternalError() throws {
        var assembler = BatchResultAssembler()
        _ = try assembler.add(TokenFrame(seq: 1, index: 0, event: start))
        let error = #expect(throws: TokenwireError.self) { try assembler.add(TokenFrame(seq: 3, index: 0, event: .text("x"))) }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("seq 3 arrived where seq 2 was due") == true)
    }

    @Test func aFrameOfAnItemThatNeverStartedIsAnInternalError() throws {
        var assembler = BatchResultAssembler()
        let error = #expect(throws: TokenwireError.self) { try assembler.add(TokenFrame(seq: 1, index: 4, event: .text("x"))) }
        #expect(error?.message.contains("item 4, which is not open") == true)
    }

    @Test func anItemStartedTwiceIsAnInternalError() throws {
        var assembler = BatchResultAssembler()
        _ = try assembler.add(TokenFrame(seq: 1, index: 0, event: start))
        _ = try assembler.add(TokenFrame(seq: 2, index: 0, event: .finish(Finish(reason: "stop"))))
        #expect(throws: TokenwireError.self) { _ = try assembler.add(TokenFrame(seq: 3, index: 0, event: start)) }
    }

    @Test func aCallThatEndsWithItemsStillOpenIsAnInternalError() throws {
        var assembler = BatchResultAssembler()
        _ = try assembler.add(TokenFrame(seq: 1, index: 2, event: start))
        let error = #expect(throws: TokenwireError.self) { try assembler.finish() }
        #expect(error?.message.contains("1 items never ended (2)") == true)
    }
}

@Suite("CallLimits")
struct CallLimitsTests {
    @Test(arguments: [
        (requested: UInt32(0), items: 100, expected: 8),
        (requested: UInt32(32), items: 100, expected: 32),
        (requested: UInt32(1000), items: 10_000, expected: 256),
        (requested: UInt32(64), items: 5, expected: 5),
        (requested: UInt32(0), items: 0, expected: 1),
    ])
    func batchConcurrencyIsTheRequestOrTheDefaultCappedByTheMaximumAndTheItems(requested: UInt32, items: Int, expected: Int) {
        #expect(CallLimits().batchConcurrency(requested: requested, items: items) == expected)
    }
}
