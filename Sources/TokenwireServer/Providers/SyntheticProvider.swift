public import TokenwireProviders
public import TokenwireCore

/// The built-in provider, needing no network or key.
///
/// - `synthetic/flood`: for `max_tokens` = N (16 when 0), N text frames as fast as flow
///   control allows, then Finish("length", output_tokens N). Word k is word k of
///   `the quick brown fox jumps over lazy dog`, cycled, each followed by a space. This
///   shape is fixed: benchmarks compare it with other gRPC servers.
/// - `synthetic/paced`: the same text at `tokensPerSecond` (64 tokens when 0), like a model.
/// - `synthetic/json`: `jsonDocument` (a JSON object) in pieces of 4 characters at
///   `tokensPerSecond`, then Finish("stop"); with `max_tokens` = N below the piece count,
///   only the first N pieces, then Finish("length"): a document cut short. For structured
///   output (`response_format`) without a provider.
///
/// `synthetic/paced` and `synthetic/json` report the prompt's words (whitespace-separated,
/// over every message) as `input_tokens`, a stand-in for a tokenizer's count;
/// `synthetic/flood` reports 0, as the peer benchmark's contract fixes its bytes
/// (`../shared/peers/verify.py`: usage {0, N}).
public struct SyntheticProvider: TokenProvider {
    public static let vocabulary = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog "]

    public let name = "synthetic"
    public let models = ["synthetic/flood", "synthetic/paced", "synthetic/json"]

    /// What `synthetic/json` writes.
    public static let jsonDocument = #"{"city": "Lisbon", "population": 545923, "landmarks": ["Belém Tower", "Jerónimos Monastery"], "coastal": true, "rating": 4.5, "founded": null, "motto": "Mui nobre e sempre leal \"cidade\"\n"}"#

    /// `jsonDocument` in pieces of 4 characters.
    public static let jsonPieces: [String] = {
        var pieces: [String] = []
        var rest = Substring(jsonDocument)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        return pieces
    }()
    /// Rate of `synthetic/paced`.
    public var tokensPerSecond: Double

    public init(tokensPerSecond: Double = 50) {
        self.tokensPerSecond = tokensPerSecond
    }

    /// The prompt's words over every message: what `paced` and `json` report as input tokens.
    static func inputTokens(of request: GenerateRequest) -> UInt32 {
        var words: UInt32 = 0
        for message in request.messages {
            words &+= UInt32(truncatingIfNeeded: message.content.split(whereSeparator: \.isWhitespace).count)
        }
        return words
    }

    public func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws {
        let vocabulary = Self.vocabulary
        if request.model == "synthetic/json" {
            let pieces = Self.jsonPieces
            let count = request.maxTokens == 0 ? pieces.count : min(pieces.count, Int(request.maxTokens))
            let interval = Duration.seconds(1 / max(tokensPerSecond, 0.001))
            let clock = ContinuousClock()
            var next = clock.now
            for piece in pieces[..<count] {
                try await sink.send(.text(piece))
                next += interval
                try await clock.sleep(until: next)
            }
            let reason = count < pieces.count ? "length" : "stop"
            let usage = Usage(inputTokens: Self.inputTokens(of: request), outputTokens: UInt32(count))
            try await sink.send(.finish(Finish(reason: reason, usage: usage)))
        } else if request.model == "synthetic/paced" {
            let count = request.maxTokens == 0 ? 64 : request.maxTokens
            let interval = Duration.seconds(1 / max(tokensPerSecond, 0.001))
            let clock = ContinuousClock()
            var next = clock.now
            for k in 0..<Int(count) {
                try await sink.send(.text(vocabulary[k & 7]))
                next += interval
                try await clock.sleep(until: next)
            }
            try await sink.send(.finish(Finish(reason: "length", usage: Usage(inputTokens: Self.inputTokens(of: request), outputTokens: count))))
        } else {
            let count = request.maxTokens == 0 ? 16 : request.maxTokens
            // Offered, not sent: no `async` call per token unless the sink asks for a pause.
            for k in 0..<Int(count) where try !sink.offer(.text(vocabulary[k & 7])) {
                try await sink.waitUntilReady()
            }
            try await sink.send(.finish(Finish(reason: "length", usage: Usage(outputTokens: count))))
        }
    }
}
