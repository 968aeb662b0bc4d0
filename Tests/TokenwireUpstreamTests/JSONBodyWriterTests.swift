import Foundation
import Testing
import TokenwireCore
@testable import TokenwireUpstream

@Suite("JSONBodyWriter: the plain openai-chat body written directly, byte for byte as JSONEncoder writes it")
struct JSONBodyWriterTests {
    /// Every ASCII character alone, the escapes among others, and text beyond ASCII.
    static let strings: [String] =
        (0..<0x80).map { String(UnicodeScalar(UInt8($0))) } + [
            "", "plain words", "a \"quoted\" \\ back/slash", "line\nbreak\r\ttab\u{8}\u{c}", "nul\0inside", "\u{1f}\u{7f}",
            "é ñ 中文 😀 \u{2028}\u{feff}", String(repeating: "long text ", count: 2000), "ends with escape\n",
        ]

    static let temperatures: [Float?] = [nil, 0, 0.05, 0.1, 0.7, 1, 1.5, 2, 0.333, 1e-5, 0.123456]

    private func expectSame(_ request: GenerateRequest, model: String, _ comment: Comment? = nil) throws {
        let direct = try #require(OpenAIChatDialect.plainRequestBody(for: request, model: model), comment)
        let reference = OpenAIChatDialect.encodedRequestBody(for: request, model: model)
        #expect(direct == reference, comment ?? "\(String(decoding: direct, as: UTF8.self)) against \(String(decoding: reference, as: UTF8.self))")
    }

    @Test func everyCharacterInContentRoleAndModelIsWrittenAsTheEncoderWritesIt() throws {
        for text in Self.strings {
            let request = GenerateRequest(model: "p/m", messages: [ChatMessage(role: text, content: text)], maxTokens: 7)
            try expectSame(request, model: text, "the string \(Array(text.utf8).prefix(20))")
        }
    }

    @Test func limitsTemperaturesAndMessageCountsAreWrittenAsTheEncoderWritesThem() throws {
        for maxTokens: UInt32 in [0, 1, 64, .max] {
            for temperature in Self.temperatures {
                for count in 0...3 {
                    let messages = (0..<count).map { ChatMessage(role: $0 == 0 ? "system" : "user", content: "message \($0)") }
                    let request = GenerateRequest(model: "p/m", messages: messages, maxTokens: maxTokens, temperature: temperature)
                    try expectSame(request, model: "gpt-4o-mini", "max_tokens \(maxTokens), temperature \(String(describing: temperature)), \(count) messages")
                }
            }
        }
        for step in 0...200 {
            let request = GenerateRequest(model: "p/m", messages: [], temperature: Float(step) / 100)
            try expectSame(request, model: "m", "temperature \(Float(step) / 100)")
        }
    }

    @Test func requestsWithToolsFormatsOrToolMessagesAreLeftToTheEncoder() {
        var withTools = GenerateRequest(model: "p/m", messages: [ChatMessage(role: "user", content: "hi")])
        withTools.tools = [ToolDefinition(name: "get_weather", parameters: "{}")]
        #expect(OpenAIChatDialect.plainRequestBody(for: withTools, model: "m") == nil)
        let toolResult = GenerateRequest(model: "p/m", messages: [ChatMessage(role: "tool", content: "20C", toolCallID: "call_1")])
        #expect(OpenAIChatDialect.plainRequestBody(for: toolResult, model: "m") == nil)
        var json = GenerateRequest(model: "p/m", messages: [])
        json.responseFormat = ResponseFormat(kind: .jsonObject)
        #expect(OpenAIChatDialect.plainRequestBody(for: json, model: "m") == nil)
    }
}
