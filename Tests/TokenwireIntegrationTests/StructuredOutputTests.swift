import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireServer
import TokenwireUpstream

/// Structured output end to end: `response_format` on Generate, Complete and batch items,
/// each delivery, each dialect's native field, through our client and grpcio.
@Suite struct StructuredOutputTests {
    struct City: Decodable, Equatable {
        var city: String
        var population: Int
        var landmarks: [String]
        var coastal: Bool
        var rating: Double
        var motto: String
    }

    static let lisbon = City(
        city: "Lisbon", population: 545923, landmarks: ["Belém Tower", "Jerónimos Monastery"], coastal: true, rating: 4.5,
        motto: "Mui nobre e sempre leal \"cidade\"\n")

    static func fast(_ configuration: inout ServerConfiguration) { configuration.pacedTokensPerSecond = 2000 }

    static func json(_ model: String, _ delivery: ResponseFormat.Delivery, maxTokens: UInt32 = 0) -> GenerateRequest {
        GenerateRequest(model: model, maxTokens: maxTokens, responseFormat: .jsonObject(delivery: delivery))
    }

    static func finish(of outcome: CallOutcome) -> Finish? {
        outcome.events.last.flatMap { if case .finish(let finish) = $0 { finish } else { nil } }
    }

    static func texts(of outcome: CallOutcome) -> [String] {
        outcome.events.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }

    /// `pieces` as a JSON array for the fake provider's `x-fake-pieces` header: ASCII only
    /// (non-ASCII characters as `\u` escapes), since a header carries Latin-1.
    static func piecesHeader(_ pieces: [String]) throws -> String {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: pieces), as: UTF8.self)
        var ascii = ""
        for unit in json.utf16 {
            if unit < 0x80 {
                ascii.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            } else {
                let hex = String(unit, radix: 16)
                ascii += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return ascii
    }

    static func parses(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
    }

    @Test func bufferedDeliveryIsOneTextFrameWithTheWholeValidDocument() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            let outcome = await collect(client, Self.json("synthetic/json", .buffered))
            #expect(outcome.status.code == .ok, "\(outcome.status)")
            #expect(Self.texts(of: outcome) == [SyntheticProvider.jsonDocument])
            #expect(Self.finish(of: outcome)?.json == JSONCheck(verdict: .valid))
            #expect(Self.finish(of: outcome)?.reason == "stop")

            let city = try await client.generateJSON(GenerateRequest(model: "synthetic/json"), as: City.self)
            #expect(city == Self.lisbon)
        }
    }

    @Test func aDocumentCutByMaxTokensIsDeliveredAsTextAndTheFinishSaysIncomplete() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            let outcome = await collect(client, Self.json("synthetic/json", .buffered, maxTokens: 5))
            let prefix = SyntheticProvider.jsonPieces[..<5].joined()
            #expect(Self.texts(of: outcome) == [prefix])
            let finish = try #require(Self.finish(of: outcome))
            #expect(finish.reason == "length")
            #expect(finish.json?.verdict == .incomplete)
            #expect(finish.json?.error.contains("at byte \(prefix.utf8.count)") == true, "\(String(describing: finish.json))")

            await #expect {
                _ = try await client.generateJSON(GenerateRequest(model: "synthetic/json", maxTokens: 5), as: City.self)
            } throws: { error in
                guard let error = error as? StructuredOutputError else { return false }
                return error.text == prefix && error.check?.verdict == .incomplete && error.finishReason == "length"
            }
        }
    }

    @Test func streamDeliveryPassesTextAsItComesAndJudgesItAtTheEnd() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            let outcome = await collect(client, Self.json("synthetic/json", .stream))
            #expect(Self.texts(of: outcome) == SyntheticProvider.jsonPieces)
            #expect(Self.finish(of: outcome)?.json?.isValid == true)
            // Text that is not JSON: judged, not changed.
            let flood = await collect(client, Self.json("synthetic/flood", .stream, maxTokens: 3))
            #expect(flood.text == "the quick brown ")
            #expect(Self.finish(of: flood)?.json?.verdict == .invalid)
            // A request for text gets no verdict.
            let plain = await collect(client, GenerateRequest(model: "synthetic/json"))
            #expect(Self.finish(of: plain)?.json == nil)
        }
    }

    @Test func everySnapshotParsesAndTheLastIsTheDocument() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            var snapshots: [String] = []
            for try await snapshot in client.jsonSnapshots(GenerateRequest(model: "synthetic/json")) { snapshots.append(snapshot) }
            #expect(snapshots.count > 20)
            for snapshot in snapshots { #expect(Self.parses(snapshot), "\(snapshot)") }
            #expect(Set(snapshots).count == snapshots.count, "a snapshot is sent only when the document changed")
            let lastText = try #require(snapshots.last)
            let last = try JSONSerialization.jsonObject(with: Data(lastText.utf8)) as? NSDictionary
            let whole = try JSONSerialization.jsonObject(with: Data(SyntheticProvider.jsonDocument.utf8)) as? NSDictionary
            #expect(last == whole)
            #expect(snapshots.contains(#"{"city": "Lisbon", "population": 545}"#))
            #expect(snapshots.contains(#"{"city": "Lisbon", "population": 545923, "landmarks": ["Belé"]}"#))

            // The text still arrives whole beside them.
            let outcome = await collect(client, Self.json("synthetic/json", .snapshots))
            #expect(outcome.text == SyntheticProvider.jsonDocument)
        }
    }

    @Test func completeReturnsTheDocumentAndItsVerdictAndBatchItemsEachGetTheirs() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            let completion = try await client.complete(Self.json("synthetic/json", .buffered))
            #expect(completion.text == SyntheticProvider.jsonDocument)
            #expect(completion.finish?.json?.isValid == true)
            let cut = try await client.complete(Self.json("synthetic/json", .stream, maxTokens: 3))
            #expect(cut.finish?.json?.verdict == .incomplete)

            let batch = BatchRequest(items: [Self.json("synthetic/json", .buffered), Self.json("synthetic/json", .buffered, maxTokens: 2), GenerateRequest(model: "synthetic/json")])
            let results = try await client.generateBatch(batch).collect()
            #expect(results.map { $0.finish?.json?.verdict } == [.valid, .incomplete, nil])
            #expect(results[0].text == SyntheticProvider.jsonDocument)
        }
    }

    @Test func formatsTheServerCannotHonourAreRefusedNamingTheField() async throws {
        try await withServerAndClient(configure: Self.fast) { _, client in
            func refusal(_ format: ResponseFormat) async -> GRPCStatus {
                await collect(client, GenerateRequest(model: "synthetic/json", responseFormat: format)).status
            }
            let notJSON = await refusal(.jsonSchema(#"{"type": "object""#))
            #expect(notJSON.code == .invalidArgument && notJSON.message.contains("response_format.schema is not a JSON object"), "\(notJSON)")
            let empty = await refusal(ResponseFormat(kind: .jsonSchema))
            #expect(empty.code == .invalidArgument && empty.message.contains("schema is empty"))
            let unknown = await refusal(ResponseFormat(kind: .init(rawValue: 7)))
            #expect(unknown.code == .invalidArgument && unknown.message.contains("response_format.type 7"))
            let delivery = await refusal(.jsonObject(delivery: .init(rawValue: 9)))
            #expect(delivery.code == .invalidArgument && delivery.message.contains("response_format.delivery 9"))
        }
    }

    /// What each dialect's request body must carry for a JSON_SCHEMA request, as the fake
    /// provider logged it.
    static func expectNativeFormat(_ dialect: UpstreamDialectKind, body: [String: Any], schema: [String: Any]) {
        func same(_ value: Any?) -> Bool { (value as? NSDictionary) == (schema as NSDictionary) }
        switch dialect {
        case .openAIChat:
            let format = body["response_format"] as? [String: Any]
            let named = format?["json_schema"] as? [String: Any]
            #expect(format?["type"] as? String == "json_schema" && named?["name"] as? String == "city" && same(named?["schema"]), "\(body)")
        case .openAIResponses:
            let format = (body["text"] as? [String: Any])?["format"] as? [String: Any]
            #expect(format?["type"] as? String == "json_schema" && format?["name"] as? String == "city" && same(format?["schema"]), "\(body)")
        case .gemini:
            let config = body["generationConfig"] as? [String: Any]
            #expect(config?["responseMimeType"] as? String == "application/json" && same(config?["responseSchema"]), "\(body)")
        case .cohere:
            let format = body["response_format"] as? [String: Any]
            #expect(format?["type"] as? String == "json_object" && same(format?["json_schema"]), "\(body)")
        case .ollama:
            #expect(same(body["format"]), "\(body)")
        case .tgi:
            let grammar = (body["parameters"] as? [String: Any])?["grammar"] as? [String: Any]
            #expect(grammar?["type"] as? String == "json" && same(grammar?["value"]), "\(body)")
        case .anthropic:
            Issue.record("anthropic refuses JSON before any request")
        }
    }

    /// Every dialect: the schema reaches the provider in its native field; the document,
    /// split inside strings and escapes and sent 3 bytes per HTTP chunk, comes back whole
    /// and valid to our client (buffered) and to grpcio (snapshots); Anthropic refuses with
    /// UNIMPLEMENTED before any request.
    @Test(arguments: UpstreamDialectKind.allCases)
    func everyDialectPassesTheSchemaOnNativelyAndTheDocumentComesBackValid(dialect: UpstreamDialectKind) async throws {
        let schemaText = #"{"type": "object", "properties": {"city": {"type": "string"}, "n": {"type": "integer"}}, "required": ["city"]}"#
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(schemaText.utf8)) as? [String: Any])
        let document = #"{"city": "Li\"s\\bon é", "n": 12}"#
        let pieces = [#"{"ci"#, #"ty": "Li\"#, #""s\\"#, #"bon é""#, #", "n": 1"#, "2}"]
        #expect(pieces.joined() == document)
        let piecesHeader = try Self.piecesHeader(pieces)
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: UpstreamDialectKind.allCases.map { fake.provider($0) })
            try await withTestServer(configure: Self.fast, relay: relay) { _, port in
                let id = "json-\(dialect.rawValue)-\(UUID().uuidString)"
                var request = fakeRequest(dialect.rawValue, ["x-fake-pieces": piecesHeader, "x-fake-chunk-bytes": "3", "x-fake-request-id": id])
                request.responseFormat = .jsonSchema(schemaText, name: "city", delivery: .buffered)
                let outcome = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    await collect(client, request)
                }
                if dialect == .anthropic {
                    #expect(outcome.status.code == .unimplemented && outcome.status.message.contains("Structured output"), "\(outcome.status)")
                    return
                }
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                #expect(Self.texts(of: outcome) == [document])
                #expect(Self.finish(of: outcome)?.json == JSONCheck(verdict: .valid))
                let entry = try await fake.request(id)
                let bodyText = try #require(entry["body"] as? String)
                let body = try #require(try JSONSerialization.jsonObject(with: Data(bodyText.utf8)) as? [String: Any])
                Self.expectNativeFormat(dialect, body: body, schema: schema)

                let results = try await runGrpcioRelay(
                    port: port,
                    calls: [[
                        "model": "\(dialect.rawValue)/m", "metadata": ["x-fake-pieces": piecesHeader, "x-fake-chunk-bytes": "3"],
                        "response_format": ["type": "JSON_SCHEMA", "schema": schemaText, "schema_name": "city", "delivery": "SNAPSHOTS"],
                    ]])
                let result = GrpcioRelayResult(try #require(results.first))
                #expect(result.code == "OK", "\(result.details)")
                let snapshots = result.frames.compactMap { $0["json_snapshot"] as? String }
                #expect(!snapshots.isEmpty)
                for snapshot in snapshots { #expect(Self.parses(snapshot), "\(snapshot)") }
                #expect(snapshots.last == document)
                let finish = result.frames.last?["finish"] as? [String: Any]
                #expect((finish?["json"] as? [String: Any])?["verdict"] as? String == "VALID", "\(String(describing: finish))")
            }
        }
    }

    @Test func invalidOutputIsReleasedAtOnceInBufferedModeAndTheFinishSaysWhy() async throws {
        let pieces = [#"{"a": "#, "tru", "e}", #", "b": 2}"#, " and more"]
        let header = try Self.piecesHeader(pieces)
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat)])
            try await withTestServer(configure: Self.fast, relay: relay) { _, port in
                var request = fakeRequest("openai-chat", ["x-fake-pieces": header])
                request.responseFormat = .jsonObject(delivery: .buffered)
                let outcome = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
                    await collect(client, request)
                }
                #expect(outcome.status.code == .ok, "\(outcome.status)")
                // Held until the text could not be JSON any more, then released as it came.
                #expect(Self.texts(of: outcome) == [#"{"a": true}, "b": 2}"#, " and more"])
                #expect(outcome.text == pieces.joined())
                let check = try #require(Self.finish(of: outcome)?.json)
                #expect(check.verdict == .invalid)
                #expect(check.error == "text after the JSON document at byte 11: ','", "\(check)")
            }
        }
    }
}
