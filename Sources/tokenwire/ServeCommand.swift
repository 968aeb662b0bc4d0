import ArgumentParser
@preconcurrency import Dispatch
import Logging
import TokenwireRelay
import TokenwireServer

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// `tokenwire serve`: run the server until SIGINT or SIGTERM, then drain.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve tokenwire.v1.TokenStream, grpc.health.v1.Health and server reflection over HTTP/2 (h2c, or TLS with --tls-cert).",
        discussion: "SIGINT or SIGTERM drains and stops the server; SIGHUP reads the --auth-tokens file again.")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let configuration = try server.configuration()
        let format = server.logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
        }
        let tokenwire = try server.makeServer(configuration: configuration)
        // Before the server starts (and says "listening"): a SIGTERM that comes right after
        // must drain, not kill the process with the default action.
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) {
            Task { await tokenwire.shutdown() }
        }
        try await tokenwire.start()
        // SIGHUP re-reads the tokens; a bad file keeps the tokens in use and says why.
        let hangup = SignalWatcher(signals: [SIGHUP]) {
            do {
                try tokenwire.reloadAuthTokens()
            } catch {
                Logger(label: "tokenwire.server").error("auth tokens not reloaded; the previous tokens stay in use", metadata: ["error": "\(error)"])
            }
        }
        await tokenwire.run()
        signals.cancel()
        hangup.cancel()
    }
}

/// The server's settings as command-line options.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 50051

    @Option(help: "Most concurrent streams per connection (HTTP/2 SETTINGS).")
    var maxConcurrentStreams: UInt32 = 1024

    @Option(help: "Per-stream receive window we advertise, in bytes.")
    var initialWindowSize: UInt32 = 1 << 20

    @Option(help: "Largest request message accepted, in bytes.")
    var maxReceiveMessageSize = 4 * 1024 * 1024

    @Option(help: "Seconds open calls may run after SIGINT/SIGTERM before they are cut off.")
    var drainTimeout: Double = 30

    @Option(help: "Seconds between server keepalive PINGs (0: off).")
    var keepaliveInterval: Double = 0

    @Option(help: "Tokens per second of synthetic/paced.")
    var pacedRate: Double = 50

    @OptionGroup var limits: LimitOptions

    @OptionGroup var connectionLimits: ConnectionLimitOptions

    @OptionGroup var resume: ResumeOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log lines as 'text' (swift-log's) or 'json' (one object per line, for log pipelines).")
    var logFormat: LogFormat = .text

    @Option(help: "Provider configuration file (JSON, see docs/PROVIDERS.md). Without it only synthetic/* is served.")
    var config: String?

    @Option(help: "Serve Prometheus metrics at http://<metrics-host>:<port>/metrics (HTTP/1.1). Off unless given; 0 picks a free port.")
    var metricsPort: Int?

    @Option(help: "Address the metrics endpoint listens on (see --metrics-port).")
    var metricsHost = "127.0.0.1"

    @Option(help: "PEM certificate chain: serve HTTP/2 over TLS (ALPN h2) instead of h2c. Needs --tls-key.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(help: "PEM CA certificates: require client certificates that chain to them (mutual TLS). Needs --tls-cert.")
    var tlsClientCa: String?

    @Option(help: "File of 'TENANT TOKEN [max_active_calls=N]' lines: every call but health needs 'authorization: Bearer TOKEN'. Re-read on SIGHUP.")
    var authTokens: String?

    /// The server, with the upstream providers of `--config` if given.
    func makeServer(configuration: ServerConfiguration) throws -> TokenwireServer {
        guard let config else { return TokenwireServer(configuration: configuration) }
        let relay = try RelayConfiguration.load(path: config)
        return try TokenwireServer(configuration: configuration) { group in
            try RelayCatalog.make(relay, group: group)
        }
    }

    func configuration() throws -> ServerConfiguration {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
        guard pacedRate > 0 else { throw ValidationError("--paced-rate must be above 0") }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.http2.maxConcurrentStreams = maxConcurrentStreams
        configuration.http2.initialWindowSize = initialWindowSize
        configuration.maxReceiveMessageSize = maxReceiveMessageSize
        configuration.drainTimeout = .milliseconds(Int(drainTimeout * 1000))
        if keepaliveInterval > 0 { configuration.keepalive.pingInterval = .milliseconds(Int(keepaliveInterval * 1000)) }
        configuration.pacedTokensPerSecond = pacedRate
        configuration.logLevel = level
        if let metricsPort {
            guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0 to 65535, not \(metricsPort)") }
            configuration.metrics = MetricsAddress(host: metricsHost, port: metricsPort)
        }
        switch (tlsCert, tlsKey) {
        case (let cert?, let key?):
            configuration.tls = ServerTLS(certificatePath: cert, keyPath: key, clientCAPath: tlsClientCa)
        case (nil, nil):
            if tlsClientCa != nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)") }
        case (_?, nil):
            throw ValidationError("--tls-cert needs --tls-key, the certificate's private key")
        case (nil, _?):
            throw ValidationError("--tls-key needs --tls-cert, the certificate it belongs to")
        }
        configuration.authTokensPath = authTokens
        try limits.apply(to: &configuration)
        try connectionLimits.apply(to: &configuration)
        try resume.apply(to: &configuration)
        return configuration
    }
}

/// Runs `handler` when one of `signals` arrives (instead of the default: exit at once).
final class SignalWatcher: @unchecked Sendable {  // sources are only resumed and cancelled
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

extension LogFormat: ExpressibleByArgument {}
