import AsyncHTTPClient
public import Foundation
public import Logging
public import NIOCore
import NIOSSL
public import TokenwireProviders

/// Builds the server's upstream providers from a configuration.
public enum RelayCatalog {
    /// One `UpstreamProvider` per configured provider, each with its own HTTP client on
    /// `group` (so a call's upstream connection lives on the loop that runs the call), and
    /// the file's aliases and fallbacks.
    ///
    /// - Parameters:
    ///   - configuration: The parsed configuration file.
    ///   - group: The server's event loops.
    ///   - environment: Where `api_key_env` keys are looked up.
    /// - Throws: `RelayConfigurationError` for a missing key or an unreadable CA file.
    public static func make(
        _ configuration: RelayConfiguration,
        group: any EventLoopGroup,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "tokenwire.relay")
    ) throws(RelayConfigurationError) -> ProviderCatalog {
        // Everything that can fail first: an HTTPClient, once made, must be shut down.
        var settings: [(UpstreamProviderConfiguration, String?, HTTPClient.Configuration)] = []
        for provider in configuration.providers {
            let key = try provider.apiKey.resolve(provider: provider.name, environment: environment)
            settings.append((provider, key, try clientConfiguration(for: provider)))
        }
        let providers = settings.map { provider, key, client in
            UpstreamProvider(
                configuration: provider, apiKey: key, client: HTTPClient(eventLoopGroup: group, configuration: client),
                logger: logger)
        }
        var fallbacks: [String: [String]] = [:]
        for (model, list) in configuration.fallbacks {
            fallbacks[configuration.aliases[model] ?? model] = list
        }
        var catalog = ProviderCatalog(
            providers: providers, aliases: configuration.aliases, fallbacks: fallbacks, filters: configuration.filters,
            modelFilters: configuration.modelFilters)
        catalog.hedges = configuration.hedges
        return catalog
    }

    private static func clientConfiguration(
        for provider: UpstreamProviderConfiguration
    ) throws(RelayConfigurationError) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = provider.tlsCAFile {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw RelayConfigurationError(
                    path: "provider '\(provider.name)'", problem: "tls_ca_file \(path) cannot be read")
            }
            tls.trustRoots = .file(path)
        }
        let connect = provider.timeouts.connect.components
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: .nanoseconds(connect.seconds * 1_000_000_000 + connect.attoseconds / 1_000_000_000)),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: provider.maxHTTP1Connections),
            decompression: .disabled)
        configuration.httpVersion = provider.http1Only ? .http1Only : .automatic
        // No span per upstream request: the relay carries the caller's trace upstream itself
        // (`traceparent`, `UpstreamEndpoint`) and bootstraps no tracer, and starting a
        // span, even the no-op tracer's, was 2% of a relayed call's CPU.
        configuration.tracing.tracer = nil
        return configuration
    }
}
