import Foundation
import Testing
import TokenwireUpstream

@Suite("SSE parser: WHATWG event-stream rules")
struct SSEParserTests {
    @Test func wptDataBeforeFinalEmptyLineDispatchesOnlyTheTerminatedEvent() throws {
        let result = SSEParseResult.parse([try Fixture.bytes("wpt-data-before-final-empty-line.sse")])
        #expect(result.events == [SSEEvent(data: "test1")])
        #expect(result.retry == 1000)
        // The trailing event is handed back undispatched, and its id is not committed.
        #expect(result.tail == SSEEvent(data: "test2", id: "test"))
        #expect(result.lastEventID == "")
    }

    @Test(arguments: ["\n", "\r", "\r\n"])
    func everyLineEndingSeparatesFieldsAndEvents(lineEnd: String) {
        let body = ["event: a", "data: 1", "data: 2", "", "data: 3", "", ""].joined(separator: lineEnd)
        let result = SSEParseResult.parse(body)
        #expect(result.events == [SSEEvent(event: "a", data: "1\n2"), SSEEvent(data: "3")])
        #expect(result.tail == nil)
    }

    @Test func mixedLineEndingsInOneStreamAreAllLineEnds() {
        // CRLF field lines with an LF blank line (EventSource/eventsource#326), then CR only.
        let result = SSEParseResult.parse("data: a\r\ndata: b\r\n\ndata: c\r\r")
        #expect(result.events == [SSEEvent(data: "a\nb"), SSEEvent(data: "c")])
    }

    @Test func crlfSplitAcrossReadsIsOneLineEndNotAnExtraBlankLine() {
        // Were the LF an extra blank line, "a" would be dispatched alone.
        let reads = ["data: a\r", "\ndata: b\r", "\n\r", "\n"].map { Array($0.utf8) }
        let result = SSEParseResult.parse(reads)
        #expect(result.events == [SSEEvent(data: "a\nb")])
    }

    @Test func crAtTheEndOfAReadFollowedByAnotherLineIsOneLineEnd() {
        let reads = ["data: a\r", "data: b\r", "\r"].map { Array($0.utf8) }
        #expect(SSEParseResult.parse(reads).events == [SSEEvent(data: "a\nb")])
    }

    @Test func leadingByteOrderMarkIsSkippedEvenWhenSplitAcrossReads() {
        let body = Array("\u{FEFF}data: 1\n\n".utf8)
        #expect(SSEParseResult.parse([body]).events == [SSEEvent(data: "1")])
        #expect(SSEParseResult.parse(Reads.byteByByte(body)).events == [SSEEvent(data: "1")])
    }

    @Test func secondByteOrderMarkBecomesPartOfTheFieldNameAndLosesTheFirstEvent() {
        // WPT format-bom-2: only "2" and "3" are delivered ("3" is the unterminated tail here).
        let result = SSEParseResult.parse("\u{FEFF}\u{FEFF}data:1\n\ndata:2\n\ndata:3")
        #expect(result.events == [SSEEvent(data: "2")])
        #expect(result.tail == SSEEvent(data: "3"))
    }

    @Test func byteOrderMarkAfterTheStartIsNotSkipped() {
        let result = SSEParseResult.parse("data: x\n\n\u{FEFF}data: y\n\n")
        #expect(result.events == [SSEEvent(data: "x")])
    }

    @Test func commentLinesAreIgnoredAndCounted() {
        let result = SSEParseResult.parse(": OPENROUTER PROCESSING\n\n:\n\ndata: x\n: inside\n\n")
        #expect(result.events == [SSEEvent(data: "x")])
        #expect(result.commentCount == 3)
    }

    @Test func fieldWithoutColonHasAnEmptyValue() {
        let result = SSEParseResult.parse("data\n\ndata\ndata\n\nevent\ndata: x\n\n")
        #expect(result.events == [SSEEvent(data: ""), SSEEvent(data: "\n"), SSEEvent(data: "x")])
    }

    @Test func onlyOneLeadingSpaceOfAValueIsRemoved() {
        let result = SSEParseResult.parse("data:x\n\ndata:  y\n\ndata: \n\n")
        #expect(result.events == [SSEEvent(data: "x"), SSEEvent(data: " y"), SSEEvent(data: "")])
    }

    @Test func multipleDataLinesAreJoinedWithLineFeeds() {
        // openai-python test_multiple_data_lines_with_empty_line.
        let result = SSEParseResult.parse("data: {\ndata: \"foo\":\ndata: \ndata:\ndata: true}\n\n")
        #expect(result.events == [SSEEvent(data: "{\n\"foo\":\n\n\ntrue}")])
    }

    @Test func eventWithoutDataIsNotDispatchedButResetsTheEventType() {
        let result = SSEParseResult.parse("event: ping\n\ndata: x\n\n")
        #expect(result.events == [SSEEvent(data: "x")])
    }

    @Test func eventTypeAppliesToOneEventOnly() {
        let result = SSEParseResult.parse("event: a\ndata: 1\n\ndata: 2\n\n")
        #expect(result.events == [SSEEvent(event: "a", data: "1"), SSEEvent(data: "2")])
    }

    @Test func idPersistsAcrossEventsAndIsCommittedOnDispatch() {
        let result = SSEParseResult.parse("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
        #expect(result.events == [SSEEvent(data: "a", id: "7"), SSEEvent(data: "b", id: "7"), SSEEvent(data: "c")])
        #expect(result.lastEventID == "")
        #expect(SSEParseResult.parse("id: 7\ndata: a\n\n").lastEventID == "7")
    }

    @Test func idContainingNulIsIgnored() {
        let result = SSEParseResult.parse("id: 1\ndata: a\n\nid: 2\u{0}3\ndata: b\n\n")
        #expect(result.events.map(\.id) == ["1", "1"])
    }

    @Test(arguments: [
        ("retry: 2500\n", 2500 as Int?), ("retry: 1000x\n", nil), ("retry: -5\n", nil), ("retry: +5\n", nil),
        ("retry:  5\n", nil), ("retry:\n", nil), ("retry: 99999999999999999999999\n", nil),
    ])
    func retryIsTakenOnlyWhenItIsAllDigits(line: String, expected: Int?) {
        #expect(SSEParseResult.parse(line).retry == expected)
    }

    @Test func unknownFieldsAreIgnored() {
        // llama.cpp's old mid-stream error field: invisible to a conformant parser.
        let result = SSEParseResult.parse("error: {\"code\":400}\ndata: [DONE]\n\n")
        #expect(result.events == [SSEEvent(data: "[DONE]")])
    }

    @Test func multiByteCharactersSplitAcrossReadsSurvive() {
        let body = Array("data: известни 😀 ok\n\n".utf8)
        for offset in 0...body.count {
            #expect(SSEParseResult.parse(Reads.split(body, at: offset)).events == [SSEEvent(data: "известни 😀 ok")])
        }
        #expect(SSEParseResult.parse(Reads.byteByByte(body)).events == [SSEEvent(data: "известни 😀 ok")])
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let body: [UInt8] = Array("data: a".utf8) + [0xFF, 0xC3] + Array("\nevent: \u{0}".utf8) + [0x80] + [0x0A, 0x0A]
        let result = SSEParseResult.parse([body])
        #expect(result.events == [SSEEvent(event: "\u{0}\u{FFFD}", data: "a\u{FFFD}\u{FFFD}")])
    }

    @Test func unicodeLineSeparatorsAreDataNotLineEnds() {
        // openai-python test_special_new_line_character; Swift's Character.isNewline would split.
        let data = "{\"content\":\" \u{2028} \u{2029} \u{85} \u{0B} \u{0C}\"}"
        let result = SSEParseResult.parse("data: \(data)\n\n")
        #expect(result.events == [SSEEvent(data: data)])
    }

    @Test func unterminatedLastLineIsReturnedByFinish() {
        let result = SSEParseResult.parse("data: a\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}")
        #expect(result.events == [SSEEvent(data: "a")])
        #expect(result.tail == SSEEvent(event: "message_stop", data: "{\"type\":\"message_stop\"}"))
    }

    @Test func finishWithNothingPendingReturnsNil() {
        #expect(SSEParseResult.parse("data: a\n\n").tail == nil)
        #expect(SSEParseResult.parse(": comment").tail == nil)
        #expect(SSEParseResult.parse("").tail == nil)
    }

    @Test func parserIsReusableAfterFinish() {
        var parser = SSEParser()
        parser.parse(Array("id: 1\ndata: a\n\ndata: b".utf8)) { _ in }
        #expect(parser.finish() == SSEEvent(data: "b", id: "1"))
        var events: [SSEEvent] = []
        parser.parse(Array("\u{FEFF}data: c\n\n".utf8)) { events.append($0) }
        #expect(events == [SSEEvent(data: "c", id: "1")])
    }

    @Test func byteCollectionsOfEveryKindParseAlike() {
        let body = Array("data: x\r\n\r\ndata: y\n\n".utf8)
        let expected = [SSEEvent(data: "x"), SSEEvent(data: "y")]
        #expect(SSEParseResult.parse([Data(body)]).events == expected)
        #expect(SSEParseResult.parse([body[...]]).events == expected)
        #expect(SSEParseResult.parse([body.lazy.map { $0 }]).events == expected)
        var parser = SSEParser()
        var events: [SSEEvent] = []
        body.withUnsafeBytes { parser.parse($0) { events.append($0) } }
        #expect(events == expected)
    }

    @Test func errorThrownByTheCallbackStopsParsing() {
        struct Stop: Error {}
        var parser = SSEParser()
        var seen: [String] = []
        #expect(throws: Stop.self) {
            try parser.parse(Array("data: 1\n\ndata: 2\n\ndata: 3\n\n".utf8)) { event in
                seen.append(event.data)
                if event.data == "2" { throw Stop() }
            }
        }
        #expect(seen == ["1", "2"])
    }

    @Test(arguments: Fixture.sseNames)
    func fixtureSplitAtEveryOffsetParsesLikeOneRead(name: String) throws {
        let body = try Fixture.bytes(name)
        let whole = SSEParseResult.parse([body])
        #expect(!whole.events.isEmpty)
        for offset in 0...body.count {
            let split = SSEParseResult.parse(Reads.split(body, at: offset))
            if split != whole {
                Issue.record("\(name) split at byte \(offset) parses differently")
                return
            }
        }
        #expect(SSEParseResult.parse(Reads.byteByByte(body)) == whole)
        for size in [2, 3, 7, 64, 1000] {
            #expect(SSEParseResult.parse(Reads.chunks(body, size: size)) == whole, "reads of \(size) bytes")
        }
    }

    @Test(arguments: [
        ("anthropic-text-ping-no-final-blank-line.sse", 8, true),
        ("anthropic-tool-use.sse", 14, true),
        ("anthropic-thinking.sse", 47, false),
        ("gemini-thought-functioncall-crlf.sse", 4, false),
        ("openai-chat-text-usage.sse", 34, false),
        ("openai-responses-text.sse", 25, false),
        ("openai-responses-toolcall.sse", 29, false),
        ("cohere-v2-parallel-toolcalls.reframed.sse", 47, false),
    ])
    func fixtureHasItsDocumentedEventCount(name: String, dispatched: Int, hasTail: Bool) throws {
        let result = SSEParseResult.parse([try Fixture.bytes(name)])
        #expect(result.events.count == dispatched)
        #expect((result.tail != nil) == hasTail)
    }
}
