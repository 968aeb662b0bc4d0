public import TokenwireCore

/// Where a call's frames go: the gRPC stream for `Generate`, an accumulator for `Complete`.
/// Sequence numbers and the StreamStart frame are the sink's business, not the provider's.
public protocol TokenSink: AnyObject {
    /// Delivers one event. Suspends while the client is slow to read.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func send(_ event: TokenEvent) async throws
}

/// A source of tokens for some models: the synthetic generator, or (later) an upstream
/// LLM provider.
public protocol TokenProvider: Sendable {
    /// The provider's name, as it appears in `StreamStart.provider` and model names.
    var name: String { get }
    /// The models it serves, as `provider/model`.
    var models: [String] { get }
    /// Streams one completion for `request` into `sink`, ending with a `.finish` event.
    /// - Throws: `TokenwireError` with the status the call should end with.
    func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws
}

/// Finds the provider for a model name.
public struct ProviderRegistry: Sendable {
    private var byModel: [String: any TokenProvider] = [:]

    public init(_ providers: [any TokenProvider]) {
        for provider in providers {
            for model in provider.models { byModel[model] = provider }
        }
    }

    /// Every model served, sorted.
    public var models: [String] { byModel.keys.sorted() }

    /// - Throws: `TokenwireError(.notFound)` naming the models that do exist.
    public func provider(for model: String) throws(TokenwireError) -> any TokenProvider {
        if let provider = byModel[model] { return provider }
        let reason = model.isEmpty ? "the request names no model" : "unknown model '\(model)'"
        throw TokenwireError.notFound("\(reason): this server serves \(models.joined(separator: ", "))")
    }
}
