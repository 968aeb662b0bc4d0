import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireServer
import TokenwireUpstream

/// Tools end to end: declared by our client or by grpcio, with a conversation that goes on
/// after a call, they reach every provider in its own request field.
@Suite struct ToolsTests {
    static let conversation = [
        ChatMessage(role: "user", content: "Weather in Paris?"),
        ChatMessage(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
        ChatMessage.toolResult(callID: "call_1", content: #"{"temp_c":21}"#),
    ]
    static let weather = ToolDefinition(
        name: "get_weather", description: "Current weather", parameters: #"{"type":"object","properties":{"city":{"type":"string"}}}"#)

    /// Where each dialect's request carries the tools and the call's result.
    static func expectToolsIn(_ body: [String: Any], dialect: UpstreamDialectKind, from who: String) {
        let text = String(decoding: (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
        switch dialect {
        case .openAIChat, .cohere, .ollama:
            let tools = body["tools"] as? [[String: Any]]
            #expect((tools?.first?["function"] as? [String: Any])?["name"] as? String == "get_weather", "\(who): \(text)")
        case .openAIResponses:
            #expect((body["tools"] as? [[String: Any]])?.first?["name"] as? String == "get_weather", "\(who): \(text)")
            #expect(text.contains(#""type":"function_call_output""#), "\(who): \(text)")
        case .anthropic:
            #expect((body["tools"] as? [[String: Any]])?.first?["input_schema"] != nil, "\(who): \(text)")
            #expect(text.contains(#""type":"tool_result""#) && text.contains(#""type":"tool_use""#), "\(who): \(text)")
        case .gemini:
            #expect(text.contains(#""functionDeclarations""#) && text.contains(#""functionResponse""#), "\(who): \(text)")
        case .tgi:
            Issue.record("TGI takes no tools")
        }
        #expect(text.contains("call_1") || dialect == .gemini || dialect == .ollama, "\(who): the call's id: \(text)")
    }

    @Test(arguments: UpstreamDialectKind.allCases)
    func toolsAndAToolResultReachTheProviderFromOurClientAndFromGrpcio(dialect: UpstreamDialectKind) async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: UpstreamDialectKind.allCases.map { fake.provider($0) })
            try await withTestServer(relay: relay) { _, port in
                let id = "tools-\(dialect.rawValue)-\(UUID().uuidString)"
                var request = fakeRequest(dialect.rawValue, maxTokens: 3, ["x-fake-request-id": id])
                request.messages = Self.conversation
                request.tools = [Self.weather]
                let outcome = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    await collect(client, request)
                }
                if dialect == .tgi {
                    #expect(outcome.status.code == .unimplemented && outcome.status.message.contains("Tools"), "\(outcome.status)")
                    return
                }
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                let entry = try await fake.request(id)
                let bodyText = try #require(entry["body"] as? String)
                let body = try #require(try JSONSerialization.jsonObject(with: Data(bodyText.utf8)) as? [String: Any])
                Self.expectToolsIn(body, dialect: dialect, from: "our client")

                let grpcioID = "tools-grpcio-\(dialect.rawValue)-\(UUID().uuidString)"
                let results = try await runGrpcioRelay(
                    port: port,
                    calls: [[
                        "model": "\(dialect.rawValue)/m", "max_tokens": 3, "metadata": ["x-fake-request-id": grpcioID],
                        "request": [
                            "messages": [
                                ["role": "user", "content": "Weather in Paris?"],
                                ["role": "assistant", "tool_calls": [["id": "call_1", "name": "get_weather", "arguments": #"{"city":"Paris"}"#]]],
                                ["role": "tool", "tool_call_id": "call_1", "content": #"{"temp_c":21}"#],
                            ],
                            "tools": [["name": "get_weather", "description": "Current weather", "parameters": Self.weather.parameters]],
                            "tool_choice": "required",
                        ],
                    ]])
                let result = GrpcioRelayResult(try #require(results.first))
                #expect(result.code == "OK", "\(result.details)")
                let grpcioEntry = try await fake.request(grpcioID)
                let grpcioText = try #require(grpcioEntry["body"] as? String)
                let grpcioBody = try #require(try JSONSerialization.jsonObject(with: Data(grpcioText.utf8)) as? [String: Any])
                Self.expectToolsIn(grpcioBody, dialect: dialect, from: "grpcio")
            }
        }
    }
}
