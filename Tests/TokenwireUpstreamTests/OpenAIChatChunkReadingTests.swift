import Foundation
import Testing
@testable import TokenwireUpstream

/// `OpenAIChatDialect.Chunk.init(reading:)` against the reference it replaces on the hot
/// path: Foundation's `JSONDecoder` running the synthesized `Decodable` conformance.
@Suite("openai-chat chunk reading")
struct OpenAIChatChunkReadingTests {
    private typealias Chunk = OpenAIChatDialect.Chunk

    /// The chunk as text (every field, nested ones included), or nil if it does not decode.
    private func read(_ json: String) -> String? {
        (try? JSONParser.parse(json)).flatMap { try? Chunk(reading: JSONNodeReader(document: $0)) }.map { String(describing: $0) }
    }

    private func referenceDecode(_ json: String) -> String? {
        (try? JSONDecoder().decode(Chunk.self, from: Data(json.utf8))).map { String(describing: $0) }
    }

    static let fixtureNames = [
        "openai-chat-error-midstream.sse", "openai-chat-length.sse", "openai-chat-n3-choices.sse",
        "openai-chat-parallel-toolcalls.sse", "openai-chat-refusal.sse", "openai-chat-text-usage.sse",
        "mistral-parallel-toolcalls.sse", "tgi-chat-length-usage.reframed.sse",
    ]

    @Test(arguments: fixtureNames)
    func everyRecordedChunkReadsAsJSONDecoderDecodesIt(name: String) throws {
        let lines = String(decoding: try Fixture.bytes(name), as: UTF8.self).split(whereSeparator: \.isNewline)
        let payloads = lines.filter { $0.hasPrefix("data:") && !$0.contains("[DONE]") }.map { String($0.dropFirst(5)) }
        #expect(!payloads.isEmpty)
        for payload in payloads {
            #expect(read(payload) != nil, "\(payload)")
            #expect(read(payload) == referenceDecode(payload), "\(payload)")
        }
    }

    static let shapes = [
        #"{"choices":[{"index":0,"delta":{"content":"hi","role":"assistant"},"finish_reason":null}]}"#,
        #"{"choices":[{"delta":{"content":null,"refusal":null,"reasoning_content":"r","reasoning":"s"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},{"type":"thinking","thinking":[{"type":"text","text":"t"}]}]}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":5}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":[1]}}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":{"b":1.0,"a":[1e2]}}}]}}]}"#,
        #"{"choices":[{"index":1.0,"delta":null}],"usage":{"prompt_tokens":3,"completion_tokens":4.5}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1e20,"completion_tokens":-1}}"#,
        #"{"object":"error","message":"m","type":"t","code":429}"#,
        #"{"error":{"message":"m","type":"t","code":"rate_limit"}}"#,
        #"{"choices":null,"usage":null,"error":null}"#,
        #"{"choices":[{"index":0,"delta":{"content":"a"}}],"choices":[]}"#,
        // Shapes JSONDecoder rejects: the reader must reject them too.
        #"{"choices":[{"index":"0","delta":{"content":"x"}}]}"#,
        #"{"choices":[{"index":1.5}]}"#,
        #"{"choices":{}}"#,
        #"{"choices":[null]}"#,
        #"{"choices":[{"delta":[]}]}"#,
        #"{"choices":[{"finish_reason":1}]}"#,
        #"{"choices":[{"delta":{"refusal":true}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":{}}}]}"#,
        #"{"object":5}"#,
        #"{"usage":{"prompt_tokens":"3"}}"#,
        #"{"code":[1]}"#,
        "[]", "null", #""chunk""#,
    ]

    @Test(arguments: shapes)
    func chunkShapeReadsAsJSONDecoderDecodesIt(json: String) {
        #expect(read(json) == referenceDecode(json))
    }
}
