public import TokenwireProviders
public import TokenwireCore

/// Finds the providers for a model name: `provider/model` or an alias, followed by the
/// model's fallbacks in order.
public struct ProviderRegistry: Sendable {
    /// One place a request can go: a provider and the routed model name it answers to.
    public struct Route: Sendable {
        public var provider: any TokenProvider
        public var model: String
    }

    private var byModel: [String: any TokenProvider] = [:]
    private var aliases: [String: String]
    private var fallbacks: [String: [String]]
    /// The output filters and which models they apply to.
    var outputFilters = OutputFilters()

    /// - Parameters:
    ///   - providers: Every provider; a model served by two is served by the later one.
    ///   - aliases: Extra names for routed models (`"fast": "openai/gpt-4o-mini"`).
    ///   - fallbacks: For a routed model, the routed models to try in order when it fails
    ///     before its first token.
    public init(_ providers: [any TokenProvider], aliases: [String: String] = [:], fallbacks: [String: [String]] = [:]) {
        for provider in providers {
            for model in provider.models { byModel[model] = provider }
        }
        self.aliases = aliases
        self.fallbacks = fallbacks
    }

    /// Every model served, sorted, aliases included.
    public var models: [String] { (Array(byModel.keys) + Array(aliases.keys)).sorted() }

    /// The routed name of `model`: itself, or what the alias stands for.
    public func resolve(_ model: String) -> String {
        aliases[model] ?? model
    }

    /// - Throws: `TokenwireError(.notFound)` naming the models that do exist.
    public func provider(for model: String) throws(TokenwireError) -> any TokenProvider {
        if let provider = byModel[resolve(model)] { return provider }
        if model.isEmpty {
            throw TokenwireError.invalidArgument("the request names no model: set model to one this server serves, \(models.joined(separator: ", "))")
        }
        throw TokenwireError.notFound("unknown model \(ErrorExcerpt.quoted(model)): this server serves \(models.joined(separator: ", "))")
    }

    /// The model's route followed by its fallbacks' routes (fallbacks this server does not
    /// serve are skipped).
    /// - Throws: `TokenwireError(.notFound)` if the model itself is not served.
    public func routes(for model: String) throws(TokenwireError) -> [Route] {
        let routed = resolve(model)
        var routes = [Route(provider: try provider(for: routed), model: routed)]
        for fallback in fallbacks[routed] ?? [] {
            let name = resolve(fallback)
            if let provider = byModel[name], !routes.contains(where: { $0.model == name }) {
                routes.append(Route(provider: provider, model: name))
            }
        }
        return routes
    }

    /// Hedged first tokens by alias or routed model.
    var hedges: [String: HedgeSpec] = [:]

    /// The hedge of a call that asked for `requested`: when it fires, and the routes it
    /// starts (those this server serves).
    func hedge(for requested: String) -> Hedge? {
        guard let spec = hedges[requested] ?? hedges[resolve(requested)] else { return nil }
        let routes = spec.routes.compactMap { name -> Route? in
            let routed = resolve(name)
            return byModel[routed].map { Route(provider: $0, model: routed) }
        }
        return routes.isEmpty ? nil : Hedge(after: .milliseconds(spec.afterMilliseconds), routes: routes)
    }

    /// Custom output stages by model, alias or `provider/*`.
    var outputStages: [String: [any OutputStage]] = [:]

    /// The output filters of a call that asked for `requested` and goes to `routes`.
    func filters(requested: String, routes: [Route]) -> [OutputFilters.Filter] {
        outputFilters.filters(requested: requested, routes: routes)
    }

    /// The custom output stages of such a call, each key's once, in key order (the model
    /// asked, then each route's model and provider).
    func stages(requested: String, routes: [Route]) -> [any OutputStage] {
        guard !outputStages.isEmpty else { return [] }
        var keys = [requested]
        for route in routes { keys += [route.model, "\(route.provider.name)/*"] }
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }.flatMap { outputStages[$0] ?? [] }
    }
}
