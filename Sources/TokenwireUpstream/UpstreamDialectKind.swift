/// The upstream dialects Tokenwire speaks, by their configuration names.
public enum UpstreamDialectKind: String, Sendable, Hashable, CaseIterable {
    case openAIChat = "openai-chat"
    case openAIResponses = "openai-responses"
    case anthropic
    case gemini
    case cohere
    case ollama
    case tgi

    /// The dialect's type, for its `framing`, `name` and `requestBody(for:model:)`.
    public var dialectType: any UpstreamDialect.Type {
        switch self {
        case .openAIChat: OpenAIChatDialect.self
        case .openAIResponses: OpenAIResponsesDialect.self
        case .anthropic: AnthropicDialect.self
        case .gemini: GeminiDialect.self
        case .cohere: CohereDialect.self
        case .ollama: OllamaDialect.self
        case .tgi: TGIDialect.self
        }
    }

    /// A new dialect state machine for one upstream response.
    public func makeDialect() -> any UpstreamDialect {
        dialectType.init()
    }
}
