public import Foundation
public import TokenwireCore

extension TGIDialect {
    /// The body of `POST /generate_stream`.
    ///
    /// The native endpoint takes one prompt string and applies no chat template: the
    /// messages' contents are joined with newlines, so callers that need the model's chat
    /// template should use TGI's `/v1/chat/completions` with `OpenAIChatDialect`. TGI
    /// rejects a temperature of 0, so 0 is sent as greedy decoding (no `temperature`,
    /// `do_sample` false). `details` is requested for the finish reason and token count.
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: Unused: a TGI server serves one model.
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        let temperature = DialectSupport.temperature(of: request)
        return DialectSupport.encodeBody(
            Body(
                inputs: request.messages.map(\.content).joined(separator: "\n"),
                parameters: Parameters(
                    max_new_tokens: DialectSupport.maxTokens(of: request),
                    temperature: (temperature ?? 0) > 0 ? temperature : nil,
                    do_sample: (temperature ?? 0) > 0,
                    details: true,
                    grammar: DialectSupport.wantsJSON(request)
                        ? Grammar(type: "json", value: DialectSupport.schema(of: request) ?? .object(["type": .string("object")])) : nil
                ),
                stream: true
            )
        )
    }

    private struct Body: Encodable {
        var inputs: String
        var parameters: Parameters
        var stream: Bool
    }

    private struct Parameters: Encodable {
        var max_new_tokens: UInt32?
        var temperature: Double?
        var do_sample: Bool
        var details: Bool
        var grammar: Grammar?
    }

    /// `parameters.grammar`: `{"type":"json","value":SCHEMA}` (TGI wants a schema; JSON_OBJECT
    /// sends `{"type":"object"}`).
    private struct Grammar: Encodable {
        var type: String
        var value: JSONValue
    }
}
