import TokenwireCore
import TokenwireProviders

/// The output filters of the providers file, compiled and checked once at start, and which
/// of them apply to a call (`model_filters`: keys are a routed model, an alias or
/// `provider/*`; every key that names the call adds its filters).
struct OutputFilters: Sendable {
    /// One compiled filter.
    struct Filter: Sendable {
        var name: String
        var regexes: [SharedRegex]
        var action: OutputFilterSpec.Action
        var windowCharacters: Int
        var toolArguments: Bool
    }

    /// The largest window a filter may hold back.
    static let maxWindowCharacters = 4096

    private let byName: [String: Filter]
    private let modelFilters: [String: [String]]

    var isEmpty: Bool { modelFilters.isEmpty }

    init() {
        byName = [:]
        modelFilters = [:]
    }

    /// - Throws: `.invalidArgument` naming the filter: a pattern that does not compile, a
    ///   window out of range, a pattern whose shortest match is longer than the window (it
    ///   could never be caught), a `model_filters` entry naming no filter.
    init(specs: [String: OutputFilterSpec], modelFilters: [String: [String]]) throws(TokenwireError) {
        var compiled: [String: Filter] = [:]
        for (name, spec) in specs {
            guard (1...Self.maxWindowCharacters).contains(spec.windowCharacters) else {
                throw .invalidArgument("filter '\(name)': window_chars must be 1 to \(Self.maxWindowCharacters), not \(spec.windowCharacters)")
            }
            guard !spec.patterns.isEmpty else { throw .invalidArgument("filter '\(name)' has no patterns") }
            var regexes: [SharedRegex] = []
            for pattern in spec.patterns {
                do {
                    regexes.append(try SharedRegex(pattern))
                } catch {
                    throw .invalidArgument("filter '\(name)': the pattern \(ErrorExcerpt.quoted(pattern)) is not a valid regular expression: \(error)")
                }
                if let shared = regexes.last, shared.matchesEmptyText {
                    throw .invalidArgument("filter '\(name)': the pattern \(ErrorExcerpt.quoted(pattern)) matches empty text")
                }
                let shortest = RegexMinimumLength.of(pattern)
                guard shortest <= spec.windowCharacters else {
                    throw .invalidArgument(
                        "filter '\(name)': the pattern \(ErrorExcerpt.quoted(pattern)) needs at least \(shortest) characters, more than its window_chars of \(spec.windowCharacters), so it could never be caught; raise window_chars")
                }
            }
            compiled[name] = Filter(
                name: name, regexes: regexes, action: spec.action, windowCharacters: spec.windowCharacters, toolArguments: spec.toolArguments)
        }
        for (key, names) in modelFilters {
            for name in names where compiled[name] == nil {
                throw .invalidArgument("model_filters of '\(key)' names the filter '\(name)', which 'filters' does not define")
            }
        }
        self.byName = compiled
        self.modelFilters = modelFilters
    }

    /// The filters of a call that asked for `requested` and may be served by `routes`
    /// (its fallbacks included: a call that moves on keeps the filters it started with and
    /// gains the fallback's), each once, ordered by name.
    func filters(requested: String, routes: [ProviderRegistry.Route]) -> [Filter] {
        guard !modelFilters.isEmpty else { return [] }
        var keys = [requested]
        for route in routes { keys += [route.model, "\(route.provider.name)/*"] }
        var names = Set<String>()
        for key in keys { names.formUnion(modelFilters[key] ?? []) }
        return names.sorted().compactMap { byName[$0] }
    }
}
