public import TokenwireCore

/// A source of tokens for some models: the synthetic generator, or an upstream LLM provider.
public protocol TokenProvider: Sendable {
    /// The provider's name, as it appears in `StreamStart.provider` and model names.
    var name: String { get }
    /// The models it serves, as `provider/model`.
    var models: [String] { get }
    /// Streams one completion for `request` into `sink`, ending with a `.finish` event.
    ///
    /// `request.model` is the routed name (`provider/model`), never an alias. The call's
    /// deadline, if any, is `CallDeadline.current`.
    /// - Throws: `TokenwireError` with the status the call should end with.
    func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws

    /// Releases what the provider holds (connection pools); called once when the server
    /// has shut down its calls.
    func shutdown() async
}

extension TokenProvider {
    public func shutdown() async {}
}
