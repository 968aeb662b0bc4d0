import Foundation
import Testing
import TokenwireCore
@testable import TokenwireUpstream

@Suite("JSON tree decoder")
struct JSONTreeDecoderTests {
    private func ours<T: Decodable>(_ type: T.Type, _ json: String) -> T? {
        try? JSONTreeDecoder.decode(type, from: JSONParser.parse(json))
    }

    private func foundations<T: Decodable>(_ type: T.Type, _ json: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(json.utf8))
    }

    /// Numbers as JSONDecoder writes them, edge cases of its integer and float rules included.
    static let numbers = [
        "0", "-0", "7", "-7", "4294967295", "4294967296", "99999999999", "-1", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551615", "18446744073709551616",
        "123456789012345678901234567890", "3.0", "3.7", "-3.7", "1e2", "1E2", "1.5e1", "2.5e-1", "1e20",
        "1e400", "-1e400", "1e-400", "0e-400", "0.0", "-0.0", "9007199254740993", "9007199254740993.0",
        "9007199254740993.5", "1e17", "9.3e18", "0.1", "1.00000000000000001", "12.5e-1",
    ]

    @Test(arguments: numbers)
    func numbersConvertAsJSONDecoderConvertsThem(number: String) {
        let json = "[\(number)]"
        #expect(ours([Int].self, json) == foundations([Int].self, json))
        #expect(ours([Int64].self, json) == foundations([Int64].self, json))
        #expect(ours([UInt32].self, json) == foundations([UInt32].self, json))
        #expect(ours([UInt64].self, json) == foundations([UInt64].self, json))
        #expect(ours([Int8].self, json) == foundations([Int8].self, json))
        #expect(ours([Double].self, json) == foundations([Double].self, json))
        #expect(ours([Float].self, json) == foundations([Float].self, json))
        #expect(ours([TokenCount].self, json) == foundations([TokenCount].self, json))
        #expect(ours([LossyString].self, json) == foundations([LossyString].self, json))
        #expect(ours(JSONText.self, json) == foundations(JSONText.self, json))
    }

    @Test func tokenCountsClampIntoUInt32AsBefore() {
        let json = "[99999999999, 1e20, -5, 12.7, 4294967295, 1e400]"
        #expect(ours([TokenCount].self, "[99999999999, 1e20, -5, 12.7, 4294967295]")?.map(\.value)
            == [UInt32.max, 4_000_000_000, 0, 12, UInt32.max])
        #expect(ours([TokenCount].self, json) == nil, "1e400 is no number JSONDecoder takes")
    }

    /// Argument objects are re-serialised with sorted keys and JSONValue's number format.
    static let argumentTexts = [
        #"{"b":1.0,"a":[1e2,-0,1.5,"x\u0001\"\\/"],"c":null,"d":true,"e":{"z":{},"y":[]}}"#,
        #"{"big":123456789012345678901234567890,"tiny":1e-7,"neg":-2.5e3,"exact":9007199254740993}"#,
        #"{"dup":1,"dup":2,"é":"\ud83d\ude00","tab":"a\tb"}"#,
        #"[1,"two",[3],{"four":4}]"#, #""already text""#, "42", "null", "{}",
    ]

    @Test(arguments: argumentTexts)
    func argumentsReSerialiseAsJSONDecoderDecodedThem(json: String) {
        let decoded = ours(JSONText.self, json)
        #expect(decoded != nil)
        #expect(decoded == foundations(JSONText.self, json))
    }

    @Test func firstOfRepeatedKeysWins() {
        struct Wire: Decodable, Equatable { var a: Int? }
        #expect(ours(Wire.self, #"{"a":1,"a":2}"#) == Wire(a: 1))
        #expect(ours(Wire.self, #"{"a":1,"a":2}"#) == foundations(Wire.self, #"{"a":1,"a":2}"#))
    }

    @Test func missingAndNullOptionalsAreNilButAWrongTypeThrows() {
        struct Wire: Decodable, Equatable {
            var text: String?
            var count: Int?
            var flag: Bool?
        }
        for json in [#"{}"#, #"{"text":null,"count":null,"flag":null}"#, #"{"text":"a","count":2,"flag":false,"x":[{}]}"#] {
            #expect(ours(Wire.self, json) != nil)
            #expect(ours(Wire.self, json) == foundations(Wire.self, json))
        }
        for json in [#"{"text":1}"#, #"{"count":"2"}"#, #"{"flag":1}"#, #"{"count":1.5}"#, "[]", "null", #""s""#] {
            #expect(ours(Wire.self, json) == nil, "\(json)")
            #expect(foundations(Wire.self, json) == nil, "\(json)")
        }
    }

    @Test func lenientFieldIsNilForTheWrongShapeAndDecodedOtherwise() {
        struct Inner: Decodable, Equatable, Sendable { var k: String }
        struct Wire: Decodable { var v: Lenient<Inner>? }
        #expect(ours(Wire.self, #"{"v":{"k":"x"}}"#)?.v?.value == Inner(k: "x"))
        #expect(ours(Wire.self, #"{"v":[1]}"#)?.v?.value == nil)
    }

    @Test func unkeyedContainerStopsOnAFailedElementAndSkipsNulls() throws {
        let document = try JSONParser.parse(#"[null,"a",{"x":[1,2]},3]"#)
        var container = try JSONTreeDecoder(document: document, node: 0).unkeyedContainer()
        #expect(container.count == 4)
        #expect(try container.decodeNil())
        #expect(throws: DecodingError.self) { try container.decode(Int.self) }
        #expect(try container.decode(String.self) == "a")
        #expect(try !container.decodeNil())
        _ = try container.nestedContainer(keyedBy: AnyKey.self)
        #expect(try container.decode(Int.self) == 3)
        #expect(container.isAtEnd)
        #expect(throws: DecodingError.self) { try container.decode(Int.self) }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

@Suite("Dialect JSON failures")
struct DialectJSONFailureTests {
    @Test(arguments: [
        #"{"choices":[{"index":0,"delta":{"content":"\ud800"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"hi"}}]} trailing"#,
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"raw\ttab\"}}]}",
        #"{"choices":[{"index":01,"delta":{"content":"hi"}}]}"#,
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func malformedChunkIsInternalMalformedJSON(json: String) {
        let run = DialectRun.run(OpenAIChatDialect.self, "data: \(json)\n\n")
        #expect(run.error?.code == .internal)
        #expect(run.error?.message.contains("openai-chat upstream sent malformed JSON") == true)
    }

    @Test func escapedContentReachesTheClientUnescaped() {
        let run = DialectRun.run(
            OpenAIChatDialect.self,
            #"data: {"choices":[{"index":0,"delta":{"content":"a\n\"b\" \u00e9\ud83d\ude00"}}]}"# + "\n\ndata: [DONE]\n\n"
        )
        #expect(run.error == nil)
        #expect(run.text == "a\n\"b\" é😀")
    }
}
