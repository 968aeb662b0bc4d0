import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProviders
import TokenwireRelay
@testable import TokenwireServer
import TokenwireTestSupport
import TokenwireUpstream

/// Output filters (issue 12 part 1): buffer and release, as a value and end to end through
/// the synthetic provider, every upstream dialect (cut into 1-byte HTTP chunks) and grpcio.
@Suite("Output filters: buffer and release")
struct OutputFilterTests {
    static func buffer(deny: [String] = [], redact: [String] = [], replacement: String = "[x]", window: Int) throws -> HoldBackBuffer {
        let rules = try deny.map { HoldBackBuffer.Rule(filter: "deny", regex: try SharedRegex($0), replacement: nil) }
            + redact.map { HoldBackBuffer.Rule(filter: "redact", regex: try SharedRegex($0), replacement: replacement) }
        return HoldBackBuffer(rules: rules, window: window)
    }

    // MARK: The buffer as a value

    @Test func deniedPhraseFedOneCharacterAtATimeNeverReleasesACharacterOfIt() throws {
        let text = "We discussed Project   Nightingale yesterday."
        for size in [1, 2, 3, 7, text.count] {
            var buffer = try Self.buffer(deny: [#"(?i)project\s+nightingale"#], window: 64)
            var released = ""
            var denied = false
            var rest = Substring(text)
            while !rest.isEmpty, !denied {
                let piece = String(rest.prefix(size))
                rest = rest.dropFirst(size)
                switch buffer.append(piece) {
                case .release(let out): released += out
                case .deny(let out, let filter):
                    released += out
                    denied = true
                    #expect(filter == "deny")
                }
            }
            #expect(denied, "pieces of \(size)")
            #expect(released == "We discussed ", "pieces of \(size)")
        }
    }

    @Test func redactionAcrossSplitsIsTheRedactionOfTheWholeText() throws {
        let text = "ids 123-45-6789 and 987-65-4321, not 123-45-67890 or 12-345-6789."
        let whole = "ids [x] and [x], not 123-45-67890 or 12-345-6789."
        for size in [1, 2, 5, 11, text.count] {
            var buffer = try Self.buffer(redact: [#"\b\d{3}-\d{2}-\d{4}\b"#], window: 32)
            var released = ""
            var rest = Substring(text)
            while !rest.isEmpty {
                guard case .release(let out) = buffer.append(String(rest.prefix(size))) else {
                    Issue.record("redaction never denies")
                    return
                }
                released += out
                rest = rest.dropFirst(size)
            }
            guard case .release(let tail) = buffer.finish() else { return }
            #expect(released + tail == whole, "pieces of \(size)")
        }
    }

    @Test func textThatCannotBeAMatchLeavesAtOnceAndOnlyTheWindowWaits() throws {
        var buffer = try Self.buffer(deny: ["forbidden"], window: 10)
        guard case .release(let first) = buffer.append(String(repeating: "a", count: 25)) else {
            Issue.record("expected a release")
            return
        }
        #expect(first.count == 15)
        #expect(buffer.held.count == 10)
        guard case .release(let rest) = buffer.finish() else { return }
        #expect(rest.count == 10)
    }

    @Test(arguments: [
        (#"(?i)project\s+nightingale"#, 19), (#"\b\d{3}-\d{2}-\d{4}\b"#, 11), ("a|bcd", 1), ("(ab){3,5}x?", 6),
        ("[a-z]+", 1), ("x*", 0), (#"(?:foo|barbaz)\.(?=com)"#, 4), (#"\Qa.b\E"#, 3), ("(?<name>ab)c", 3),
        (#"[\]x]{2}"#, 2)
    ])
    func shortestPossibleMatch(pattern: String, length: Int) {
        #expect(RegexMinimumLength.of(pattern) == length, "\(pattern)")
    }

    @Test(arguments: [
        (#"(?i)project\s+nightingale"#, "aceghijlnoprt", true), (#"\b\d{3}-\d{2}-\d{4}\b"#, "-", false), ("a|b", "", false),
        ("colou?r", "clor", false), ("[]x]yz", "yz", false), (#"\p{L}x"#, "x", false), (#"\x41b"#, "b", false),
        ("(ab)c", "c", false), ("x{0,2}y", "y", false), (#"\Qab\E"#, "", false), (#"\N{DIGIT ONE}z"#, "z", false),
        (#"\k<name>q"#, "q", false), (#"\12w"#, "w", false),
    ])
    func requiredCharactersAreOnlyThoseEveryMatchHas(pattern: String, bytes: String, caseInsensitive: Bool) {
        let required = RequiredCharacters(pattern: pattern)
        #expect(String(decoding: required.bytes, as: UTF8.self) == bytes, "\(pattern)")
        #expect(required.caseInsensitive == caseInsensitive, "\(pattern)")
    }

    /// The prefilter never skips text a pattern matches.
    @Test func textThatMatchesAlwaysHasThePatternsRequiredCharacters() throws {
        let patterns = [#"(?i)project\s+nightingale"#, #"\b\d{3}-\d{2}-\d{4}\b"#, "colou?r", "[]x]yz", #"a\.b"#, #"(?i:FOO)bar"#, "x{0,2}y"]
        let texts = ["PROJECT   Nightingale", "id 123-45-6789.", "color colour", "]yz xyz", "a.b", "foobar FOObar", "y xxy"]
        for pattern in patterns {
            let regex = try SharedRegex(pattern)
            for text in texts where regex.firstMatch(in: text) != nil {
                #expect(regex.required.isSatisfied(by: ByteSet(text)), "\(pattern) matches \(text) but its prefilter would skip it")
            }
            #expect(texts.contains { regex.firstMatch(in: $0) != nil }, "\(pattern) should match one of the texts")
        }
    }

    @Test func filtersThatCouldNeverWorkAreRefusedAtStartNamingTheFilter() {
        func refusal(_ spec: OutputFilterSpec, models: [String: [String]] = ["synthetic/*": ["f"]]) -> String? {
            do {
                _ = try OutputFilters(specs: ["f": spec], modelFilters: models)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(OutputFilterSpec(name: "f", patterns: ["(?i)project\\s+nightingale"], action: .deny, windowCharacters: 8))?
            .contains("filter 'f': the pattern '(?i)project\\s+nightingale' needs at least 19 characters, more than its window_chars of 8") == true)
        #expect(refusal(OutputFilterSpec(name: "f", patterns: ["(unclosed"], action: .deny, windowCharacters: 8))?
            .contains("is not a valid regular expression") == true)
        #expect(refusal(OutputFilterSpec(name: "f", patterns: ["x*"], action: .deny, windowCharacters: 8))?.contains("matches empty text") == true)
        #expect(refusal(OutputFilterSpec(name: "f", patterns: ["x"], action: .deny, windowCharacters: 0))?.contains("window_chars must be 1") == true)
        #expect(refusal(OutputFilterSpec(name: "f", patterns: ["x"], action: .deny, windowCharacters: 8), models: ["a/b": ["g"]])?
            .contains("names the filter 'g'") == true)
    }

    @Test func providersFileRefusesUnknownKeysAndFiltersNoModelUses() {
        func problem(_ json: String) -> String? {
            do {
                _ = try RelayConfiguration.parse(Data(json.utf8))
                return nil
            } catch {
                return error.problem
            }
        }
        let provider = #""providers": [{"name": "p", "dialect": "openai-chat", "base_url": "http://127.0.0.1:1", "models": ["m"]}]"#
        #expect(problem("{\(provider), \"filters\": {\"f\": {\"deny\": [\"x\"], \"windw\": 3}}}")?.contains("unknown key 'windw'") == true)
        #expect(problem("{\(provider), \"filters\": {\"f\": {\"deny\": [\"x\"], \"redact\": [\"y\"]}}}")?.contains("both 'deny' and 'redact'") == true)
        #expect(problem("{\(provider), \"filters\": {\"f\": {\"deny\": [\"x\"]}}, \"model_filters\": {\"q/*\": [\"f\"]}}")?
            .contains("model_filters has 'q/*'") == true)
        #expect(problem("{\(provider), \"filters\": {\"f\": {\"deny\": [\"x\"]}}, \"model_filters\": {\"p/*\": [\"f\"], \"synthetic/*\": [\"f\"]}}") == nil)
    }

    /// The example in examples/providers.json parses, and its filters compile.
    @Test func exampleProvidersFileIsValidAndItsFiltersCompile() throws {
        let configuration = try RelayConfiguration.load(path: repositoryRoot.appendingPathComponent("examples/providers.json").path)
        #expect(configuration.providers.map(\.name) == ["openai", "claude", "local"])
        #expect(configuration.hedges["fast"] == HedgeSpec(afterMilliseconds: 800, routes: ["claude/claude-3-5-haiku-latest"]))
        let filters = try OutputFilters(specs: configuration.filters, modelFilters: configuration.modelFilters)
        #expect(!filters.isEmpty)
    }

    // MARK: End to end

    /// A server whose providers are the synthetic one and the fake provider's dialects, with
    /// `filters` on `keys`.
    static func withFilteredServer(
        filters: [OutputFilterSpec], on keys: [String], fake: FakeProvider? = nil, stages: [String: [any OutputStage]] = [:],
        _ body: (TokenwireServer, Int) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration()
        configuration.outputStages = stages
        configuration.port = 0
        configuration.logLevel = .error
        configuration.drainTimeout = .seconds(5)
        let server = try TokenwireServer(configuration: configuration) { group in
            var catalog = ProviderCatalog()
            if let fake {
                catalog = try RelayCatalog.make(RelayConfiguration(providers: UpstreamDialectKind.allCases.map { fake.provider($0) }), group: group)
            }
            catalog.filters = Dictionary(uniqueKeysWithValues: filters.map { ($0.name, $0) })
            catalog.modelFilters = Dictionary(uniqueKeysWithValues: keys.map { ($0, filters.map(\.name)) })
            return catalog
        }
        try await server.start()
        do {
            try await body(server, try #require(server.port))
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    static let brownFox = OutputFilterSpec(name: "no-fox", patterns: [#"(?i)brown\s+fox"#], action: .deny, windowCharacters: 32)

    @Test func deniedPhraseEndsGenerateCompleteAndABatchItemWithContentFilterAndNothingOfIt() async throws {
        try await Self.withFilteredServer(filters: [Self.brownFox], on: ["synthetic/*"]) { _, port in
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                let outcome = await collect(client, GenerateRequest(model: "synthetic/flood", maxTokens: 50))
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                #expect(outcome.text == "the quick ")
                #expect(outcome.events.last == .finish(Finish(reason: "content_filter", usage: Usage(outputTokens: 4))))

                let completion = try await client.complete(GenerateRequest(model: "synthetic/flood", maxTokens: 50))
                #expect(completion.text == "the quick ")
                #expect(completion.finish?.reason == "content_filter")

                var batch = BatchRequest(items: [GenerateRequest(model: "synthetic/flood", maxTokens: 50), GenerateRequest(model: "synthetic/flood", maxTokens: 2)])
                batch.maxConcurrency = 2
                let results = try await client.generateBatch(batch).collect()
                #expect(results.map(\.text) == ["the quick ", "the quick "])
                #expect(results.map { $0.finish?.reason } == ["content_filter", "length"])
            }
        }
    }

    @Test func redactionReplacesEveryMatchAndTheStreamGoesOn() async throws {
        let quick = OutputFilterSpec(name: "q", patterns: ["(?i)QUICK"], action: .redact(replacement: "[q]"), windowCharacters: 8)
        try await Self.withFilteredServer(filters: [quick], on: ["synthetic/flood"]) { _, port in
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                let outcome = await collect(client, GenerateRequest(model: "synthetic/flood", maxTokens: 20))
                #expect(outcome.status.code == .ok)
                let words = (0..<20).map { SyntheticProvider.vocabulary[$0 % SyntheticProvider.vocabulary.count] }.joined()
                #expect(outcome.text == words.replacingOccurrences(of: "quick", with: "[q]"))
                #expect(outcome.events.last.map { if case .finish(let finish) = $0 { finish.reason } else { "" } } == "length")
                // A model no key names is not filtered.
                let paced = await collect(client, GenerateRequest(model: "synthetic/paced", maxTokens: 3))
                #expect(paced.text == "the quick brown ")
            }
        }
    }

    /// Every dialect: the upstream's events cut into 1-byte HTTP chunks, the phrase split
    /// across two events; our client and grpcio see the text before it and content_filter,
    /// and the fake provider sees its client go away at once.
    @Test(arguments: UpstreamDialectKind.allCases)
    func deniedPhraseSplitAcrossEventsAndBytesNeverReachesAClientAndCancelsTheUpstream(dialect: UpstreamDialectKind) async throws {
        let filter = OutputFilterSpec(name: "no-five-six", patterns: [#"tok5\s+tok6"#], action: .deny, windowCharacters: 16)
        try await withFakeProvider { fake in
            try await Self.withFilteredServer(filters: [filter], on: ["\(dialect.rawValue)/*"], fake: fake) { _, port in
                let id = "filter-\(dialect.rawValue)-\(UUID().uuidString)"
                // 2,000 tokens at 200 a second: the upstream would stream for 10 s, so "cancelled
                // at once" has a budget that holds on a loaded 2-core machine (at 400 tokens,
                // 2 s, one run of the full parallel suite saw the stream end first).
                let headers = ["x-fake-tokens": "2000", "x-fake-rate": "200", "x-fake-chunk-bytes": "1", "x-fake-request-id": id]
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    let outcome = await collect(client, fakeRequest(dialect.rawValue, headers))
                    #expect(outcome.status.code == .ok, "\(outcome.status)")
                    #expect(outcome.text == "tok1 tok2 tok3 tok4 ")
                    #expect(outcome.events.last.map { if case .finish(let finish) = $0 { finish.reason } else { "" } } == "content_filter")
                }
                let entry = try await fake.request(id)
                #expect(entry["disconnected"] as? Bool == true, "the upstream must be cancelled: \(entry)")

                let results = try await runGrpcioRelay(
                    port: port, calls: [["model": "\(dialect.rawValue)/m", "metadata": ["x-fake-tokens": "2000", "x-fake-rate": "200", "x-fake-chunk-bytes": "1"]]])
                let result = GrpcioRelayResult(try #require(results.first))
                #expect(result.code == "OK", "\(result.details)")
                let text = result.events.reduce(into: "") { text, event in if case .text(let piece) = event { text += piece } }
                #expect(text == "tok1 tok2 tok3 tok4 ")
                #expect(result.frames.last?["finish"].flatMap { ($0 as? [String: Any])?["reason"] as? String } == "content_filter")
            }
        }
    }

    // MARK: Custom stages

    /// Holds text until it holds "fox ", then releases it through the last "fox " as one
    /// event.
    struct SentenceStage: OutputStage {
        func makeProcessor(model: String) -> any OutputStageProcessor { Processor() }
        struct Processor: OutputStageProcessor {
            var held = ""
            mutating func process(_ event: TokenEvent) -> OutputStageVerdict {
                guard case .text(let text) = event else {
                    defer { held = "" }
                    return .pass(held.isEmpty ? [event] : [.text(held), event])
                }
                held += text
                guard let end = held.ranges(of: "fox ").last?.upperBound else { return .pass([]) }
                defer { held = String(held[end...]) }
                return .pass([.text(String(held[..<end]))])
            }
            mutating func finish() -> OutputStageVerdict {
                defer { held = "" }
                return .pass(held.isEmpty ? [] : [.text(held)])
            }
        }
    }

    /// A "classifier": stops the call at the first released text that says "lazy".
    struct NoLazinessStage: OutputStage {
        func makeProcessor(model: String) -> any OutputStageProcessor { Processor() }
        struct Processor: OutputStageProcessor {
            mutating func process(_ event: TokenEvent) -> OutputStageVerdict {
                if case .text(let text) = event, text.contains("lazy") { return .stop([]) }
                return .pass([event])
            }
        }
    }

    @Test func customStageHoldsBackAndReleasesInOrderBeforeTheFinish() async throws {
        try await Self.withFilteredServer(filters: [], on: [], stages: ["synthetic/*": [SentenceStage()]]) { _, port in
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                let outcome = await collect(client, GenerateRequest(model: "synthetic/flood", maxTokens: 10))
                #expect(outcome.status.code == .ok)
                #expect(outcome.contentEvents.dropLast() == [.text("the quick brown fox "), .text("jumps over lazy dog the quick ")])
                #expect(outcome.events.last.map { if case .finish(let finish) = $0 { finish.reason } else { "" } } == "length")
            }
        }
    }

    @Test func customStagesRunInOrderAfterTheFiltersAndAStopEndsWithContentFilter() async throws {
        let quick = OutputFilterSpec(name: "q", patterns: ["quick"], action: .redact(replacement: "[q]"), windowCharacters: 8)
        try await Self.withFilteredServer(
            filters: [quick], on: ["synthetic/flood"], stages: ["synthetic/flood": [SentenceStage(), NoLazinessStage()]]
        ) { _, port in
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                let outcome = await collect(client, GenerateRequest(model: "synthetic/flood", maxTokens: 50))
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                #expect(outcome.text == "the [q] brown fox ")
                #expect(outcome.events.last.map { if case .finish(let finish) = $0 { finish.reason } else { "" } } == "content_filter")
            }
        }
    }

    /// `tool_arguments: true`: each tool call's arguments are held back and redacted on
    /// their own (a recorded OpenAI stream of two parallel calls, in 1-byte HTTP chunks);
    /// without it, arguments pass untouched.
    @Test func toolArgumentsAreFilteredOnlyWhenTheFilterSaysSo() async throws {
        let cities = OutputFilterSpec(
            name: "cities", patterns: ["Edinburgh|NASDAQ"], action: .redact(replacement: "[place]"), windowCharacters: 16, toolArguments: true)
        let plain = OutputFilterSpec(name: "plain", patterns: ["AAPL"], action: .redact(replacement: "[t]"), windowCharacters: 8)
        try await withFakeProvider { fake in
            try await Self.withFilteredServer(filters: [cities, plain], on: ["openai-chat/*"], fake: fake) { _, port in
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    let outcome = await collect(
                        client, fakeRequest("openai-chat", ["x-fake-replay": "openai-chat-parallel-toolcalls.sse", "x-fake-chunk-bytes": "1"]))
                    #expect(outcome.status.code == .ok, "\(outcome.status)")
                    var arguments: [UInt32: String] = [:]
                    for case .toolCall(let delta) in outcome.events { arguments[delta.index, default: ""] += delta.arguments }
                    #expect(arguments[0] == #"{"city": "[place]", "country": "GB", "units": "c"}"#)
                    #expect(arguments[1] == #"{"ticker": "AAPL", "exchange": "[place]"}"#)
                }
            }
        }
    }
}
