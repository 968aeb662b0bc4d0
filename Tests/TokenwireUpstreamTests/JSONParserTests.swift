import Testing
@testable import TokenwireUpstream

@Suite("JSON parser")
struct JSONParserTests {
    private func parseError(_ text: String) -> JSONParseError.Reason? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error.reason
        }
    }

    private func string(_ json: String) throws -> String? {
        try JSONParser.parse(json).string(at: 0)
    }

    @Test func everyEscapeDecodesToItsCharacter() throws {
        #expect(try string(#""a\"b\\c\/d\be\ff\ng\rh\ti""#) == "a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti")
        #expect(try string(#""\u0041\u00e9\u20AC\u0000""#) == "Aé€\u{0}")
        #expect(try string(#""plain, no escapes: é€😀""#) == "plain, no escapes: é€😀")
    }

    @Test func surrogatePairDecodesToOneScalar() throws {
        #expect(try string(#""\ud83d\ude00!""#) == "😀!")
        #expect(try string(#""\uD834\uDD1E""#) == "𝄞")
    }

    @Test(arguments: [#""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\ud83d\n""#])
    func loneSurrogateIsRejected(json: String) {
        #expect(parseError(json) == .loneSurrogate)
    }

    @Test(arguments: [#""\x""#, #""\u12""#, #""\u12G4""#, #""\U0041""#, #""\'""#])
    func invalidEscapeIsRejected(json: String) {
        let reason = parseError(json)
        #expect(reason == .invalidEscape || reason == .unexpectedEnd)
    }

    @Test func controlCharacterInsideStringIsRejected() {
        #expect(parseError("\"tab\there\"") == .controlCharacterInString)
        #expect(parseError("{\"a\":\"line\nbreak\"}") == .controlCharacterInString)
        #expect(parseError("\"esc\\n then raw \u{1}\"") == .controlCharacterInString)
    }

    @Test(arguments: ["0", "-0", "42", "-17", "3.25", "-0.5", "1e10", "1E+2", "2.5e-3", "123456789012345678901234567890"])
    func validNumberParses(json: String) {
        #expect(parseError(json) == nil)
    }

    @Test(arguments: ["01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "1.e5", "0x10", "NaN", "Infinity", "1_000"])
    func invalidNumberIsRejected(json: String) {
        #expect(parseError(json) != nil)
    }

    @Test func nestingUpToTheLimitParsesAndOneDeeperIsRejected() {
        let limit = JSONParser.maximumDepth
        #expect(parseError(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) == nil)
        #expect(parseError(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)) == .tooDeeplyNested)
        #expect(parseError(String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)) == .tooDeeplyNested)
    }

    @Test(arguments: [#"{"a":1} x"#, "{}}", "1 2", "[1]]", #""a""b""#, "nullx", "true false"])
    func trailingCharactersAreRejected(json: String) {
        #expect(parseError(json) == .trailingCharacters)
    }

    @Test(arguments: ["", "   ", "{", "[1,", #"{"a""#, #"{"a":"#, #""abc"#, "tru", "[1 2]", #"{"a" 1}"#, "{1:2}", "[1,]", #"{"a":1,}"#, "{,}"])
    func truncatedOrMisplacedInputIsRejected(json: String) {
        #expect(parseError(json) != nil)
    }

    @Test func surroundingWhitespaceAndAByteOrderMarkAreAccepted() throws {
        #expect(parseError(" \t\r\n{ \"a\" : [ 1 , true , null ] }\n ") == nil)
        #expect(try string("\u{FEFF}\"bom\"") == "bom")
    }

    @Test func tapeSkipsNestedContainersToFindLaterMembers() throws {
        let document = try JSONParser.parse(#"{"a":{"x":[1,{"y":2}],"z":"q"},"b\u0062":3,"c":[[]],"d":4}"#)
        #expect(document.member(named: "d", in: 0).flatMap { document.integer(at: $0, as: Int.self) } == 4)
        #expect(document.member(named: "bb", in: 0).flatMap { document.integer(at: $0, as: Int.self) } == 3)
        #expect(document.member(named: "zz", in: 0) == nil)
        #expect(document.keys(of: 0) == ["a", "bb", "c", "d"])
    }

    @Test func longKeysSharingAPrefixAreTold() throws {
        let document = try JSONParser.parse(#"{"completion_tokens_x":1,"completion_tokens":2,"completion":3}"#)
        #expect(document.member(named: "completion_tokens", in: 0).flatMap { document.integer(at: $0, as: Int.self) } == 2)
        #expect(document.member(named: "completion", in: 0).flatMap { document.integer(at: $0, as: Int.self) } == 3)
        #expect(document.member(named: "completion_token", in: 0) == nil)
    }

    @Test func specialByteIsFoundAtEveryOffsetOfALongString() throws {
        for offset in 0..<24 {
            let before = String(repeating: "a", count: offset)
            let after = String(repeating: "é", count: 9)
            #expect(try string("\"\(before)\\n\(after)\"") == before + "\n" + after)
            #expect(try string("\"\(before)\(after)\"") == before + after)
            let error = try #require(throws: JSONParseError.self) { try JSONParser.parse("\"\(before)\u{1F}\(after)\"") }
            #expect(error == JSONParseError(reason: .controlCharacterInString, offset: 1 + offset))
            #expect(parseError("\"\(before)\(after)") == .unexpectedEnd)
        }
        #expect(try string("\"\u{7F}\u{80}\u{FF}€😀 0123456789abcdef\"") == "\u{7F}\u{80}\u{FF}€😀 0123456789abcdef")
    }
}
