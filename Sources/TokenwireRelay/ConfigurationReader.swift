import Foundation
import TokenwireUpstream
import TokenwireProviders

/// Turns the parsed JSON of a configuration file into `RelayConfiguration`, rejecting
/// unknown keys and wrong types with messages that name the key and the provider.
struct ConfigurationReader {
    let path: String

    private static let topKeys: Set<String> = ["providers", "aliases", "fallbacks", "filters", "model_filters", "hedges"]
    private static let filterKeys: Set<String> = ["deny", "redact", "replacement", "window_chars", "tool_arguments"]
    private static let providerKeys: Set<String> = [
        "name", "dialect", "base_url", "api_key_env", "api_key_file", "headers", "forward_metadata",
        "models", "connect_timeout_ms", "stall_timeout_ms", "first_heartbeat_ms", "heartbeat_interval_ms",
        "max_attempts", "initial_backoff_ms", "max_backoff_ms", "tls_ca_file", "http1_only", "max_http1_connections", "max_event_bytes",
    ]

    init(path: String) {
        self.path = path
    }

    mutating func configuration(from object: Any) throws(RelayConfigurationError) -> RelayConfiguration {
        guard let top = object as? [String: Any] else { throw fail("the top level must be a JSON object") }
        try checkKeys(top, allowed: Self.topKeys, in: "the top level")
        guard let list = top["providers"] as? [Any], !list.isEmpty else {
            throw fail("'providers' must be a non-empty list of provider objects")
        }
        var providers: [UpstreamProviderConfiguration] = []
        for (position, entry) in list.enumerated() {
            providers.append(try provider(from: entry, position: position))
        }
        var configuration = RelayConfiguration(
            providers: providers,
            aliases: try stringMap(top["aliases"], key: "aliases", in: "the top level"),
            fallbacks: try fallbacks(top["fallbacks"]),
            filters: try filters(top["filters"]),
            modelFilters: try modelFilters(top["model_filters"]))
        configuration.hedges = try hedges(top["hedges"])
        return configuration
    }

    private func hedges(_ value: Any?) throws(RelayConfigurationError) -> [String: HedgeSpec] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else { throw fail("'hedges' must map a model or alias to its hedge") }
        var result: [String: HedgeSpec] = [:]
        for (key, entry) in map {
            let place = "the hedge of '\(key)'"
            guard let fields = entry as? [String: Any] else { throw fail("\(place) must be an object") }
            try checkKeys(fields, allowed: ["after_ms", "routes"], in: place)
            guard let after = try integer(fields["after_ms"], key: "after_ms", in: place), after >= 1 else {
                throw fail("\(place) needs 'after_ms', the milliseconds without content before the hedge starts (at least 1)")
            }
            let routes = try stringList(fields["routes"], key: "routes", in: place)
            guard !routes.isEmpty else { throw fail("\(place) needs 'routes', a non-empty list of models or aliases") }
            result[key] = HedgeSpec(afterMilliseconds: after, routes: routes)
        }
        return result
    }

    private func filters(_ value: Any?) throws(RelayConfigurationError) -> [String: OutputFilterSpec] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else { throw fail("'filters' must map a filter's name to its settings") }
        var result: [String: OutputFilterSpec] = [:]
        for (name, entry) in map {
            let place = "filter '\(name)'"
            guard let fields = entry as? [String: Any] else { throw fail("\(place) must be an object") }
            try checkKeys(fields, allowed: Self.filterKeys, in: place)
            let deny = try stringList(fields["deny"], key: "deny", in: place)
            let redact = try stringList(fields["redact"], key: "redact", in: place)
            let action: OutputFilterSpec.Action
            let patterns: [String]
            switch (deny.isEmpty, redact.isEmpty) {
            case (false, true):
                if fields["replacement"] != nil { throw fail("\(place): 'replacement' goes with 'redact', not 'deny'") }
                action = .deny
                patterns = deny
            case (true, false):
                action = .redact(replacement: try string(fields["replacement"], key: "replacement", in: place) ?? "[redacted]")
                patterns = redact
            case (false, false):
                throw fail("\(place) has both 'deny' and 'redact': make two filters")
            case (true, true):
                throw fail("\(place) needs 'deny' or 'redact', a non-empty list of regular expressions")
            }
            result[name] = OutputFilterSpec(
                name: name, patterns: patterns, action: action,
                windowCharacters: try integer(fields["window_chars"], key: "window_chars", in: place) ?? 64,
                toolArguments: try bool(fields["tool_arguments"], key: "tool_arguments", in: place) ?? false)
        }
        return result
    }

    private func modelFilters(_ value: Any?) throws(RelayConfigurationError) -> [String: [String]] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else {
            throw fail("'model_filters' must map a model, an alias or 'provider/*' to a list of filter names")
        }
        var result: [String: [String]] = [:]
        for (key, list) in map {
            guard let names = list as? [String] else { throw fail("model_filters of '\(key)' must be a list of filter names") }
            result[key] = names
        }
        return result
    }

    private func provider(from entry: Any, position: Int) throws(RelayConfigurationError) -> UpstreamProviderConfiguration {
        guard let fields = entry as? [String: Any] else { throw fail("providers[\(position)] must be an object") }
        guard let name = fields["name"] as? String, !name.isEmpty, !name.contains("/") else {
            throw fail("providers[\(position)] needs a 'name' without '/' (it starts the model names: name/model)")
        }
        let place = "provider '\(name)'"
        try checkKeys(fields, allowed: Self.providerKeys, in: place)
        let dialectName = try string(fields["dialect"], key: "dialect", in: place)
        let known = UpstreamDialectKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let dialectName else { throw fail("\(place) needs a 'dialect', one of: \(known)") }
        guard let dialect = UpstreamDialectKind(rawValue: dialectName) else {
            throw fail("\(place) has the unknown dialect '\(dialectName)'; the dialects are: \(known)")
        }
        guard let baseURL = try string(fields["base_url"], key: "base_url", in: place)
            ?? UpstreamProviderConfiguration.defaultBaseURL(for: dialect)
        else { throw fail("\(place) needs a 'base_url' (the \(dialect.rawValue) dialect has no public default)") }
        guard URL(string: baseURL)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
            throw fail("\(place): 'base_url' must be an http:// or https:// URL, not '\(baseURL)'")
        }
        guard let models = fields["models"] as? [String], !models.isEmpty else {
            throw fail("\(place) needs 'models', a non-empty list of the provider's model names")
        }
        return UpstreamProviderConfiguration(
            name: name,
            dialect: dialect,
            baseURL: baseURL,
            apiKey: try apiKey(fields, in: place),
            headers: try stringMap(fields["headers"], key: "headers", in: place),
            forwardMetadata: try stringList(fields["forward_metadata"], key: "forward_metadata", in: place),
            models: models,
            timeouts: try timeouts(fields, in: place),
            retry: try retry(fields, in: place),
            tlsCAFile: try string(fields["tls_ca_file"], key: "tls_ca_file", in: place),
            http1Only: try bool(fields["http1_only"], key: "http1_only", in: place) ?? false,
            maxHTTP1Connections: try integer(fields["max_http1_connections"], key: "max_http1_connections", in: place) ?? 1024,
            maxEventBytes: try integer(fields["max_event_bytes"], key: "max_event_bytes", in: place)
                ?? UpstreamProviderConfiguration.defaultMaxEventBytes)
    }

    private func apiKey(_ fields: [String: Any], in place: String) throws(RelayConfigurationError) -> APIKeySource {
        let environment = try string(fields["api_key_env"], key: "api_key_env", in: place)
        let file = try string(fields["api_key_file"], key: "api_key_file", in: place)
        switch (environment, file) {
        case (.some, .some): throw fail("\(place): give 'api_key_env' or 'api_key_file', not both")
        case (.some(let name), nil): return .environment(name)
        case (nil, .some(let path)): return .file(path)
        case (nil, nil): return .none
        }
    }

    private func timeouts(_ fields: [String: Any], in place: String) throws(RelayConfigurationError) -> UpstreamTimeouts {
        let defaults = UpstreamTimeouts()
        return UpstreamTimeouts(
            connect: try milliseconds(fields["connect_timeout_ms"], key: "connect_timeout_ms", in: place) ?? defaults.connect,
            stall: try milliseconds(fields["stall_timeout_ms"], key: "stall_timeout_ms", in: place) ?? defaults.stall,
            firstHeartbeat: try milliseconds(fields["first_heartbeat_ms"], key: "first_heartbeat_ms", in: place)
                ?? defaults.firstHeartbeat,
            heartbeatInterval: try milliseconds(fields["heartbeat_interval_ms"], key: "heartbeat_interval_ms", in: place)
                ?? defaults.heartbeatInterval)
    }

    private func retry(_ fields: [String: Any], in place: String) throws(RelayConfigurationError) -> RetryPolicy {
        let defaults = RetryPolicy()
        return RetryPolicy(
            maxAttempts: try integer(fields["max_attempts"], key: "max_attempts", in: place) ?? defaults.maxAttempts,
            initialBackoff: try milliseconds(fields["initial_backoff_ms"], key: "initial_backoff_ms", in: place)
                ?? defaults.initialBackoff,
            maxBackoff: try milliseconds(fields["max_backoff_ms"], key: "max_backoff_ms", in: place) ?? defaults.maxBackoff)
    }

    private func fallbacks(_ value: Any?) throws(RelayConfigurationError) -> [String: [String]] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else { throw fail("'fallbacks' must map a model to a list of models") }
        var result: [String: [String]] = [:]
        for (model, list) in map {
            guard let names = list as? [String] else { throw fail("fallbacks of '\(model)' must be a list of model names") }
            result[model] = names
        }
        return result
    }

    // MARK: Typed fields

    private func checkKeys(_ fields: [String: Any], allowed: Set<String>, in place: String) throws(RelayConfigurationError) {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail("\(place) has an unknown key '\(unknown)' (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func string(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> String? {
        guard let value else { return nil }
        guard let text = value as? String else { throw fail("\(place): '\(key)' must be a string") }
        return text
    }

    private func bool(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> Bool? {
        guard let value else { return nil }
        guard let flag = value as? Bool else { throw fail("\(place): '\(key)' must be true or false") }
        return flag
    }

    private func integer(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> Int? {
        guard let value else { return nil }
        guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue), integer >= 1 else {
            throw fail("\(place): '\(key)' must be a whole number of at least 1")
        }
        return integer
    }

    private func milliseconds(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> Duration? {
        guard let value else { return nil }
        // Past 10^12 ms (31 years) `Duration.milliseconds` would trap (1e300) or later
        // conversions to nanoseconds would overflow; no timeout needs more.
        guard let number = value as? NSNumber, number.doubleValue >= 0, number.doubleValue <= 1e12 else {
            throw fail("\(place): '\(key)' must be a non-negative number of milliseconds, at most 10^12")
        }
        return .milliseconds(number.doubleValue)
    }

    private func stringMap(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> [String: String] {
        guard let value else { return [:] }
        guard let map = value as? [String: String] else { throw fail("\(place): '\(key)' must map strings to strings") }
        return map
    }

    private func stringList(_ value: Any?, key: String, in place: String) throws(RelayConfigurationError) -> [String] {
        guard let value else { return [] }
        guard let list = value as? [String] else { throw fail("\(place): '\(key)' must be a list of strings") }
        return list
    }

    private func fail(_ problem: String) -> RelayConfigurationError {
        RelayConfigurationError(path: path, problem: problem)
    }
}
