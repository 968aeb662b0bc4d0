public import TokenwireUpstream

/// One upstream provider in the configuration file.
public struct UpstreamProviderConfiguration: Sendable, Hashable {
    /// The first part of routed model names (`openai` in `openai/gpt-4o-mini`).
    public var name: String
    /// How it streams.
    public var dialect: UpstreamDialectKind
    /// Where its API lives: for `openai-chat` and `openai-responses` including `/v1`
    /// (`https://api.openai.com/v1`), for the others the host (`https://api.anthropic.com`).
    public var baseURL: String
    /// Where the API key comes from; the key itself is never logged or put in an error.
    public var apiKey: APIKeySource
    /// Headers sent with every request (e.g. `OpenAI-Organization`).
    public var headers: [String: String]
    /// Request metadata keys forwarded as HTTP headers (exact names, or a prefix ending in `*`).
    public var forwardMetadata: [String]
    /// The provider's own model names.
    public var models: [String]
    public var timeouts: UpstreamTimeouts
    public var retry: RetryPolicy
    /// A PEM file of CA certificates to trust instead of the system's (private endpoints, tests).
    public var tlsCAFile: String?
    /// `true`: HTTP/1.1 only; `false` (default): HTTP/2 where TLS ALPN offers it.
    public var http1Only: Bool
    /// Most HTTP/1.1 connections to the provider at once: one per concurrent call, as
    /// HTTP/1.1 has no multiplexing (AsyncHTTPClient's default of 8 would queue the rest).
    public var maxHTTP1Connections: Int
    /// The largest SSE event or NDJSON line the relay holds (`max_event_bytes`); a bigger
    /// one ends the call with RESOURCE_EXHAUSTED instead of taking the server's memory.
    public var maxEventBytes: Int
    /// `maxEventBytes` when the file gives none: 4 MiB.
    public static let defaultMaxEventBytes = 4 * 1024 * 1024

    public init(
        name: String,
        dialect: UpstreamDialectKind,
        baseURL: String,
        apiKey: APIKeySource = .none,
        headers: [String: String] = [:],
        forwardMetadata: [String] = [],
        models: [String],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        retry: RetryPolicy = RetryPolicy(),
        tlsCAFile: String? = nil,
        http1Only: Bool = false,
        maxHTTP1Connections: Int = 1024,
        maxEventBytes: Int = defaultMaxEventBytes
    ) {
        self.name = name
        self.dialect = dialect
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.headers = headers
        self.forwardMetadata = forwardMetadata
        self.models = models
        self.timeouts = timeouts
        self.retry = retry
        self.tlsCAFile = tlsCAFile
        self.http1Only = http1Only
        self.maxHTTP1Connections = max(1, maxHTTP1Connections)
        self.maxEventBytes = max(1024, maxEventBytes)
    }

    /// The models as clients name them: `name/model`.
    public var routedModels: [String] { models.map { "\(name)/\($0)" } }

    /// The base URL a dialect's public API uses, when the file gives none.
    static func defaultBaseURL(for dialect: UpstreamDialectKind) -> String? {
        switch dialect {
        case .openAIChat, .openAIResponses: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .gemini: "https://generativelanguage.googleapis.com"
        case .cohere: "https://api.cohere.com"
        case .ollama: "http://127.0.0.1:11434"
        case .tgi: nil
        }
    }
}

/// How long to wait for a provider, and when to reassure the client.
public struct UpstreamTimeouts: Sendable, Hashable {
    /// TCP (and TLS) connect.
    public var connect: Duration
    /// Upstream silence (no bytes at all, not even keep-alive comments) after which the
    /// call ends with UNAVAILABLE. Covers the wait for the response headers too.
    public var stall: Duration
    /// Before the first token: how long the client waits before it gets the response
    /// headers, StreamStart and a Heartbeat frame.
    public var firstHeartbeat: Duration
    /// After that: the longest the client goes without a frame while the upstream is silent.
    public var heartbeatInterval: Duration

    public init(
        connect: Duration = .seconds(10),
        stall: Duration = .seconds(120),
        firstHeartbeat: Duration = .seconds(1),
        heartbeatInterval: Duration = .seconds(5)
    ) {
        self.connect = connect
        self.stall = stall
        self.firstHeartbeat = firstHeartbeat
        self.heartbeatInterval = heartbeatInterval
    }
}
