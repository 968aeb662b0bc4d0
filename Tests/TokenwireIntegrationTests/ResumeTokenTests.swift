import Testing

@testable import TokenwireServer

@Suite struct ResumeTokenTests {
    @Test func aTokensTextIs32LowercaseHexDigitsAndReadsBackToTheSameBits() {
        for _ in 0..<100 {
            let token = ResumeToken.random()
            let text = token.text
            #expect(text.utf8.count == 32)
            #expect(text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
            #expect(ResumeToken(text) == token)
        }
        let edge = ResumeToken(high: 0, low: .max)
        #expect(edge.text == "0000000000000000ffffffffffffffff")
        #expect(ResumeToken("0000000000000000ffffffffffffffff") == edge)
    }

    @Test func textThatIsNotATokenNamesNoStream() {
        let text = ResumeToken.random().text
        #expect(ResumeToken(text.uppercased()) == nil || text.uppercased() == text)
        #expect(ResumeToken(String(text.dropLast())) == nil)
        #expect(ResumeToken(text + "0") == nil)
        #expect(ResumeToken("") == nil)
        #expect(ResumeToken(String(text.dropLast()) + "\u{0}") == nil)
        #expect(ResumeToken(String(text.dropLast()) + "g") == nil)
        #expect(ResumeToken(String(text.dropLast(2)) + "é") == nil)
    }

    @Test func twoTokensDrawnAreDifferent() {
        var seen = Set<ResumeToken>()
        for _ in 0..<1000 { seen.insert(.random()) }
        #expect(seen.count == 1000)
    }
}
