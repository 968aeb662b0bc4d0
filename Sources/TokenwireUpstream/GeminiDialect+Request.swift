public import Foundation
public import TokenwireCore

extension GeminiDialect {
    /// The body of `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`.
    ///
    /// The model is part of the URL, not the body, and streaming is chosen by the URL too
    /// (`alt=sse`). `system` messages are joined into `systemInstruction`; `assistant`
    /// becomes Gemini's `model` role and every other role `user`.
    ///
    /// - Parameters:
    ///   - request: The caller's request.
    ///   - model: The provider's model name (unused in the body; put it in the URL).
    /// - Returns: UTF-8 JSON with sorted keys.
    public static func requestBody(for request: GenerateRequest, model: String) -> Data {
        let system = request.messages.filter { $0.role == "system" }.map(\.content)
        let contents = request.messages.filter { $0.role != "system" }.map {
            Content(role: $0.role == "assistant" ? "model" : "user", parts: [Part(text: $0.content)])
        }
        return DialectSupport.encodeBody(
            Body(
                contents: contents,
                systemInstruction: system.isEmpty ? nil : SystemInstruction(parts: system.map { Part(text: $0) }),
                generationConfig: GenerationConfig(
                    maxOutputTokens: DialectSupport.maxTokens(of: request),
                    temperature: DialectSupport.temperature(of: request),
                    responseMimeType: DialectSupport.wantsJSON(request) ? "application/json" : nil,
                    responseSchema: DialectSupport.schema(of: request)
                )
            )
        )
    }

    private struct Body: Encodable {
        var contents: [Content]
        var systemInstruction: SystemInstruction?
        var generationConfig: GenerationConfig
    }

    private struct Content: Encodable {
        var role: String
        var parts: [Part]
    }

    private struct SystemInstruction: Encodable {
        var parts: [Part]
    }

    private struct Part: Encodable {
        var text: String
    }

    /// JSON output: `responseMimeType` `application/json`, and the schema as `responseSchema`
    /// (Gemini reads an OpenAPI subset of JSON Schema there).
    private struct GenerationConfig: Encodable {
        var maxOutputTokens: UInt32?
        var temperature: Double?
        var responseMimeType: String?
        var responseSchema: JSONValue?
    }
}
