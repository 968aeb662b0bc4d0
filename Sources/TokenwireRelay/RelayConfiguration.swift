public import Foundation
import TokenwireUpstream
public import TokenwireProviders

/// The provider configuration file (`tokenwire serve --config FILE`): JSON, keys in
/// snake_case. See docs/PROVIDERS.md for every key.
///
/// ```json
/// {
///   "providers": [
///     { "name": "openai", "dialect": "openai-chat", "base_url": "https://api.openai.com/v1",
///       "api_key_env": "OPENAI_API_KEY", "models": ["gpt-4o-mini"] }
///   ],
///   "aliases": { "fast": "openai/gpt-4o-mini" },
///   "fallbacks": { "openai/gpt-4o-mini": ["anthropic/claude-3-5-haiku-latest"] }
/// }
/// ```
public struct RelayConfiguration: Sendable, Hashable {
    public var providers: [UpstreamProviderConfiguration]
    /// Alias → `provider/model`.
    public var aliases: [String: String]
    /// `provider/model` (or alias) → the models to try in order when it fails before its
    /// first token.
    public var fallbacks: [String: [String]]
    /// Output filters by name (docs/PROVIDERS.md, "Output filters").
    public var filters: [String: OutputFilterSpec]
    /// A routed model, an alias or `provider/*` → the filters that apply to its calls.
    public var modelFilters: [String: [String]]
    /// An alias or routed model → its hedge (docs/PROVIDERS.md, "Hedged first tokens").
    public var hedges: [String: HedgeSpec] = [:]

    public init(
        providers: [UpstreamProviderConfiguration],
        aliases: [String: String] = [:],
        fallbacks: [String: [String]] = [:],
        filters: [String: OutputFilterSpec] = [:],
        modelFilters: [String: [String]] = [:]
    ) {
        self.providers = providers
        self.aliases = aliases
        self.fallbacks = fallbacks
        self.filters = filters
        self.modelFilters = modelFilters
    }

    /// Reads and checks a configuration file.
    /// - Throws: `RelayConfigurationError` naming the file and what is wrong in it.
    public static func load(path: String) throws(RelayConfigurationError) -> RelayConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RelayConfigurationError(path: path, problem: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// Parses and checks configuration JSON.
    /// - Parameter path: Where it came from, for messages.
    /// - Throws: `RelayConfigurationError` saying what is wrong.
    public static func parse(_ data: Data, path: String = "<config>") throws(RelayConfigurationError) -> RelayConfiguration {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw RelayConfigurationError(path: path, problem: "not valid JSON (\(error.localizedDescription))")
        }
        var reader = ConfigurationReader(path: path)
        let configuration = try reader.configuration(from: object)
        try configuration.validate(path: path)
        return configuration
    }

    /// Checks names, routes and aliases against each other.
    private func validate(path: String) throws(RelayConfigurationError) {
        func fail(_ problem: String) -> RelayConfigurationError { RelayConfigurationError(path: path, problem: problem) }
        var names = Set<String>()
        for provider in providers {
            if provider.name == "synthetic" { throw fail("provider name 'synthetic' is reserved for the built-in provider") }
            if !names.insert(provider.name).inserted { throw fail("two providers are named '\(provider.name)'") }
        }
        let routed = Set(providers.flatMap(\.routedModels))
        for (alias, target) in aliases where !routed.contains(target) {
            throw fail("alias '\(alias)' points at '\(target)', which no provider serves (served: \(routed.sorted().joined(separator: ", ")))")
        }
        for (model, list) in fallbacks {
            for name in [model] + list where !routed.contains(name) && aliases[name] == nil {
                throw fail("fallbacks name '\(name)', which no provider serves and is not an alias")
            }
        }
        for (key, hedge) in hedges {
            guard routed.contains(key) || aliases[key] != nil else {
                throw fail("hedges has '\(key)', which is no served model or alias")
            }
            for name in hedge.routes where !routed.contains(name) && aliases[name] == nil {
                throw fail("the hedge of '\(key)' names '\(name)', which no provider serves and is not an alias")
            }
        }
        let providerKeys = Set((providers.map(\.name) + ["synthetic"]).map { "\($0)/*" })
        for (key, list) in modelFilters {
            let known = routed.contains(key) || aliases[key] != nil || providerKeys.contains(key) || key.hasPrefix("synthetic/")
            guard known else {
                throw fail("model_filters has '\(key)', which is no served model, alias or 'provider/*' (providers: \(providerKeys.sorted().joined(separator: ", ")))")
            }
            for name in list where filters[name] == nil {
                throw fail("model_filters of '\(key)' names the filter '\(name)', which 'filters' does not define (defined: \(filters.keys.sorted().joined(separator: ", ")))")
            }
        }
    }
}

/// A configuration file that cannot be used, and why.
public struct RelayConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "provider configuration \(path): \(problem)" }
}
