/// The providers a server serves besides the synthetic one, with the names that route to
/// them: what a provider configuration file turns into.
public struct ProviderCatalog: Sendable {
    public var providers: [any TokenProvider]
    /// Extra model names: alias → `provider/model`.
    public var aliases: [String: String]
    /// For a `provider/model`, the models to try in order when it fails before its first token.
    public var fallbacks: [String: [String]]
    /// Output filters by name.
    public var filters: [String: OutputFilterSpec]
    /// Which filters apply to which calls: keys are a routed model, an alias or
    /// `provider/*`; every key that matches a call adds its filters.
    public var modelFilters: [String: [String]]
    /// Hedged first tokens by alias or routed model.
    public var hedges: [String: HedgeSpec] = [:]

    public init(
        providers: [any TokenProvider] = [], aliases: [String: String] = [:], fallbacks: [String: [String]] = [:],
        filters: [String: OutputFilterSpec] = [:], modelFilters: [String: [String]] = [:]
    ) {
        self.providers = providers
        self.aliases = aliases
        self.fallbacks = fallbacks
        self.filters = filters
        self.modelFilters = modelFilters
    }
}
