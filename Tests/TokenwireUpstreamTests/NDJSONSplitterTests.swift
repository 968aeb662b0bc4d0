import Testing
import TokenwireUpstream

@Suite("NDJSON splitter")
struct NDJSONSplitterTests {
    private static func split<Read: Collection>(_ reads: [Read]) -> (lines: [String], last: String?)
    where Read.Element == UInt8 {
        var splitter = NDJSONSplitter()
        var lines: [String] = []
        for read in reads {
            splitter.parse(read) { lines.append($0) }
        }
        return (lines, splitter.finish())
    }

    private static func split(_ body: String) -> (lines: [String], last: String?) {
        split([Array(body.utf8)])
    }

    @Test func lfAndCrlfLinesAreSplitWithoutTheirLineEnds() {
        let result = Self.split("{\"a\":1}\n{\"b\":2}\r\n{\"c\":3}\n")
        #expect(result.lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(result.last == nil)
    }

    @Test func blankLinesAreSkipped() {
        let result = Self.split("\n{\"a\":1}\n\n  \n\r\n\t\n{\"b\":2}\n")
        #expect(result.lines == ["{\"a\":1}", "{\"b\":2}"])
    }

    @Test func finalLineWithoutNewlineIsReturnedByFinish() {
        let result = Self.split("{\"a\":1}\n{\"done\":true}")
        #expect(result.lines == ["{\"a\":1}"])
        #expect(result.last == "{\"done\":true}")
        #expect(Self.split("{\"a\":1}\n   ").last == nil)
    }

    @Test func loneCarriageReturnIsNotALineEnd() {
        #expect(Self.split("{\"a\":\"x\ry\"}\n").lines == ["{\"a\":\"x\ry\"}"])
    }

    @Test func crlfSplitAcrossReadsIsStripped() {
        let result = Self.split([Array("{\"a\":1}\r".utf8), Array("\n{\"b\":2}\r\n".utf8)])
        #expect(result.lines == ["{\"a\":1}", "{\"b\":2}"])
    }

    @Test func multiByteCharactersSplitAcrossReadsSurvive() {
        let body = Array("{\"response\":\"известни 😀\"}\n".utf8)
        for offset in 0...body.count {
            #expect(Self.split(Reads.split(body, at: offset)).lines == ["{\"response\":\"известни 😀\"}"])
        }
    }

    @Test(arguments: Fixture.ndjsonNames)
    func fixtureSplitAtEveryOffsetSplitsLikeOneRead(name: String) throws {
        let body = try Fixture.bytes(name)
        let whole = Self.split([body])
        #expect(whole.lines.count > 1)
        for offset in 0...body.count {
            let split = Self.split(Reads.split(body, at: offset))
            if split.lines != whole.lines || split.last != whole.last {
                Issue.record("\(name) split at byte \(offset) splits differently")
                return
            }
        }
        let byteByByte = Self.split(Reads.byteByByte(body))
        #expect(byteByByte.lines == whole.lines && byteByByte.last == whole.last)
    }
}
