import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TokenwireCore
import TokenwireProviders
import TokenwireUpstream

/// Where and how to ask one provider for a stream: the URL of each dialect's streaming
/// endpoint, its authentication headers, and the dialect's request body.
struct UpstreamEndpoint: Sendable {
    let provider: String
    let dialect: UpstreamDialectKind
    let baseURL: String
    /// Headers sent with every request, authentication included. Never logged.
    private let fixedHeaders: [(String, String)]
    private let forwardMetadata: [String]
    /// The largest SSE event or NDJSON line held (`max_event_bytes`).
    let maxEventBytes: Int
    /// A request to the streaming endpoint, for dialects whose URL does not name the model:
    /// each call's request is a copy with its own headers and body (parsing the URL again
    /// for every call was 2% of a relayed call's CPU). nil when the URL is not one
    /// (`makeRequest` then says so).
    private let template: HTTPClient.Request?

    init(configuration: UpstreamProviderConfiguration, apiKey: String?) {
        provider = configuration.name
        maxEventBytes = configuration.maxEventBytes
        dialect = configuration.dialect
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base
        // identity: the relay parses the body as it streams and decodes no compression.
        var headers: [(String, String)] = [
            ("content-type", "application/json"), ("user-agent", "tokenwire"), ("accept-encoding", "identity"),
        ]
        headers.append(("accept", dialect.dialectType.framing == .newlineDelimitedJSON ? "application/x-ndjson" : "text/event-stream"))
        if let apiKey { headers += Self.authentication(for: configuration.dialect, key: apiKey) }
        if configuration.dialect == .anthropic { headers.append(("anthropic-version", "2023-06-01")) }
        headers += configuration.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        fixedHeaders = headers
        forwardMetadata = configuration.forwardMetadata.map { $0.lowercased() }
        template = configuration.dialect == .gemini ? nil : try? HTTPClient.Request(url: Self.url(base: base, dialect: configuration.dialect, model: ""), method: .POST)
    }

    /// The URL of the streaming endpoint for `model` (the provider's own model name).
    func url(model: String) -> String {
        Self.url(base: baseURL, dialect: dialect, model: model)
    }

    private static func url(base baseURL: String, dialect: UpstreamDialectKind, model: String) -> String {
        switch dialect {
        case .openAIChat: "\(baseURL)/chat/completions"
        case .openAIResponses: "\(baseURL)/responses"
        case .anthropic: "\(baseURL)/v1/messages"
        case .gemini:
            "\(baseURL)/v1beta/models/\(model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? model):streamGenerateContent?alt=sse"
        case .cohere: "\(baseURL)/v2/chat"
        case .ollama: "\(baseURL)/api/chat"
        case .tgi: "\(baseURL)/generate_stream"
        }
    }

    /// The streaming request for `request`, whose model is `provider/model`.
    /// - Throws: `.invalidArgument` when forwarded metadata holds a character an HTTP
    ///   header cannot carry (NUL, CR, LF): the header would be cut or refused;
    ///   `.unimplemented` when the request asks for JSON from an Anthropic provider, or
    ///   offers tools to a TGI one.
    func makeRequest(for request: GenerateRequest, model: String) throws(TokenwireError) -> HTTPClient.Request {
        var headers = HTTPHeaders()
        for (name, value) in fixedHeaders { headers.add(name: name, value: value) }
        for (key, value) in request.metadata.sorted(by: { $0.key < $1.key }) where forwards(key) {
            if let bad = value.unicodeScalars.first(where: { $0 == "\0" || $0 == "\r" || $0 == "\n" }) {
                throw .invalidArgument(
                    "metadata \(ErrorExcerpt.quoted(key)) is forwarded to provider '\(provider)' as an HTTP header, "
                        + "which cannot carry U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4)): remove it from the value")
            }
            headers.replaceOrAdd(name: key, value: value)
        }
        // The caller's trace goes on upstream.
        if let trace = TraceContext.current {
            headers.replaceOrAdd(name: "traceparent", value: trace.traceparent)
            if let state = trace.tracestate { headers.replaceOrAdd(name: "tracestate", value: state) }
        }
        if dialect == .anthropic, request.responseFormat?.wantsJSON == true {
            throw TokenwireError(
                code: .unimplemented,
                message: "provider '\(provider)' speaks Anthropic's Messages API, to which Tokenwire passes no JSON response format: "
                    + "ask for text, or route the call to a provider that has one (docs/PROVIDERS.md, \"Structured output\")")
        }
        if dialect == .tgi, !request.tools.isEmpty {
            throw TokenwireError(
                code: .unimplemented,
                message: "provider '\(provider)' speaks TGI's native generate_stream, which takes no tools: "
                    + "send the call without tools, or route it to a chat provider (docs/PROVIDERS.md, \"Tools\")")
        }
        let body = ByteBuffer(bytes: dialect.dialectType.requestBody(for: request, model: model))
        if var request = template {
            request.headers = headers
            request.body = .byteBuffer(body)
            return request
        }
        let url = url(model: model)
        do {
            return try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .byteBuffer(body))
        } catch {
            throw .invalidArgument(
                "provider '\(provider)': \(ErrorExcerpt.quoted(url)) is not a URL the relay can call (\(error)); check its base_url")
        }
    }

    /// Whether a metadata key is configured to travel to the provider as a header.
    private func forwards(_ key: String) -> Bool {
        let key = key.lowercased()
        return forwardMetadata.contains { pattern in
            pattern.hasSuffix("*") ? key.hasPrefix(pattern.dropLast()) : key == pattern
        }
    }

    private static func authentication(for dialect: UpstreamDialectKind, key: String) -> [(String, String)] {
        switch dialect {
        case .anthropic: [("x-api-key", key)]
        case .gemini: [("x-goog-api-key", key)]
        case .openAIChat, .openAIResponses, .cohere, .ollama, .tgi: [("authorization", "Bearer \(key)")]
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
