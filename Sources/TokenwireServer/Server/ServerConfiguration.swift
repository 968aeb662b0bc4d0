public import Logging
public import TokenwireHTTP2

/// Everything a `TokenwireServer` can be told, with defaults that suit a local service.
public struct ServerConfiguration: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (see `TokenwireServer.port`).
    public var port = 50051
    /// HTTP/2 settings: max concurrent streams per connection, windows, watermarks.
    public var http2 = HTTP2Configuration()
    /// PING policy: permitted client keepalives, optional server keepalive.
    public var keepalive = HTTP2KeepalivePolicy()
    /// Active provider calls (server-wide) and batch concurrency.
    public var limits = CallLimits()
    /// Connections, unfinished request bytes and the request timeout.
    public var connectionLimits = ConnectionLimits()
    /// Largest request message accepted; bigger ones get RESOURCE_EXHAUSTED.
    public var maxReceiveMessageSize = 4 * 1024 * 1024
    /// Resumable streams: the log per stream, the detach grace and retention.
    public var resume = ResumeConfiguration()
    /// How long open calls may run after a shutdown begins before they are cut off.
    public var drainTimeout: Duration = .seconds(30)
    /// Where `GET /metrics` (Prometheus text format, HTTP/1.1) is served; nil: no metrics
    /// are kept (`--metrics-port`, `--metrics-host`).
    public var metrics: MetricsAddress?
    /// Token rate of `synthetic/paced`.
    public var pacedTokensPerSecond: Double = 50
    /// Serve HTTP/2 over TLS (ALPN h2) instead of cleartext; with `clientCAPath`, require
    /// client certificates (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    public var tls: ServerTLS?
    /// The bearer tokens calls must present, one `TENANT TOKEN` per line (`--auth-tokens`);
    /// nil: calls need none. See `AuthTokens` for the format.
    public var authTokensPath: String?
    /// Custom output stages by model: keys are a routed model, an alias or `provider/*`, as
    /// in the providers file's `model_filters`; they run after its filters (`OutputStage`).
    public var outputStages: [String: [any OutputStage]] = [:]
    /// Log level of the server's logger.
    public var logLevel: Logger.Level = .info
    /// Event-loop threads; 0 uses one per core this process may run on (CPU affinity and cgroup limits).
    public var eventLoopThreads = 0

    /// Run each call's handler on its connection's event loop (fair turns per loop tick;
    /// no thread hops). When false, handlers run on Swift's global concurrent executor.
    public var runCallsOnEventLoops = true

    public init() {}
}

/// Where the metrics endpoint listens.
public struct MetricsAddress: Sendable {
    public var host: String
    /// 0 picks a free port (see `TokenwireServer.metricsPort`).
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }
}
