import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireUpstream

/// Every recorded provider stream, replayed byte for byte by the fake provider, through
/// the whole path: fake provider → AsyncHTTPClient → dialect → server → gRPC → client.
@Suite("Recorded streams relayed end to end")
struct RelayFixtureTests {
    static let relay: @Sendable (FakeProvider) -> RelayConfiguration = { fake in
        RelayConfiguration(providers: UpstreamDialectKind.allCases.map { fake.provider($0) })
    }

    @Test(arguments: FixtureExpectation.all)
    func recordedStreamReachesOurClientExactly(name: String, dialect: UpstreamDialectKind) async throws {
        let expected = try FixtureExpectation(name: name, dialect: dialect)
        try await withFakeProvider { fake in
            try await withServerAndClient(relay: Self.relay(fake)) { _, client in
                let outcome = await collect(client, fakeRequest(dialect.rawValue, ["x-fake-replay": name]))
                Self.check(outcome, against: expected)
            }
        }
    }

    @Test func recordedStreamsReachGrpcioExactly() async throws {
        let expectations = try FixtureExpectation.all.map { try FixtureExpectation(name: $0.name, dialect: $0.dialect) }
        try await withFakeProvider { fake in
            try await withTestServer(relay: Self.relay(fake)) { _, port in
                let calls = expectations.map { expected -> [String: Any] in
                    ["model": "\(expected.dialect.rawValue)/m", "metadata": ["x-fake-replay": expected.name]]
                }
                let results = try await runGrpcioRelay(port: port, calls: calls)
                try #require(results.count == expectations.count)
                for (expected, result) in zip(expectations, results) {
                    GrpcioRelayResult(result).check(against: expected)
                }
            }
        }
    }

    static func check(_ outcome: CallOutcome, against expected: FixtureExpectation, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.contentEvents == expected.events, "\(expected.name): events", sourceLocation: sourceLocation)
        #expect(outcome.frames.map(\.seq) == (0..<outcome.frames.count).map { UInt64($0 + 1) },
            "\(expected.name): seq numbers must be 1, 2, 3, ...", sourceLocation: sourceLocation)
        if let error = expected.error {
            #expect(outcome.status.code == error.code, "\(expected.name): status", sourceLocation: sourceLocation)
            #expect(outcome.status.message.contains(error.message), "\(expected.name): \(outcome.status.message)", sourceLocation: sourceLocation)
            #expect(outcome.status.message.contains("provider '\(expected.dialect.rawValue)'"), sourceLocation: sourceLocation)
        } else {
            #expect(outcome.status.code == .ok, "\(expected.name): \(outcome.status)", sourceLocation: sourceLocation)
        }
        if expected.events.isEmpty {
            // Nothing produced: a trailers-only error, not even StreamStart.
            #expect(outcome.frames.isEmpty, "\(expected.name)", sourceLocation: sourceLocation)
        } else if case .start(let start) = outcome.frames.first?.event {
            #expect(start.provider == expected.dialect.rawValue, sourceLocation: sourceLocation)
            #expect(start.model == "\(expected.dialect.rawValue)/m", sourceLocation: sourceLocation)
        } else {
            Issue.record("\(expected.name): the first frame is not StreamStart", sourceLocation: sourceLocation)
        }
    }
}

/// Runs `Tests/Interop/grpcio_client.py relay` for `calls`; returns its per-call results.
func runGrpcioRelay(port: Int, calls: [[String: Any]]) async throws -> [[String: Any]] {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-calls-\(UUID().uuidString).json")
    try JSONSerialization.data(withJSONObject: calls).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let output = try await runProcess(
        "python3", ["Tests/Interop/grpcio_client.py", "--target", "127.0.0.1:\(port)", "relay", "--calls", file.path])
    try #require(output.status == 0, "grpcio relay case failed: \(output.stderr)")
    let line = try #require(output.stdout.split(separator: "\n").last.map(String.init))
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    return try #require(summary["results"] as? [[String: Any]], "no results in \(line)")
}

/// One call as grpcio saw it (protobuf JSON mapping of each frame).
struct GrpcioRelayResult {
    var frames: [[String: Any]]
    var code: String
    var details: String

    init(_ result: [String: Any]) {
        frames = result["frames"] as? [[String: Any]] ?? []
        code = result["code"] as? String ?? "?"
        details = result["details"] as? String ?? ""
    }

    /// The frames as events, rebuilt from the JSON mapping.
    var events: [TokenEvent] {
        frames.compactMap { frame in
            if let text = frame["text"] as? String { return .text(text) }
            if let text = frame["reasoning"] as? String { return .reasoning(text) }
            if frame["heartbeat"] != nil { return .heartbeat }
            if let call = frame["tool_call"] as? [String: Any] {
                return .toolCall(ToolCallDelta(
                    index: UInt32((call["index"] as? NSNumber)?.intValue ?? 0), id: call["id"] as? String ?? "",
                    name: call["name"] as? String ?? "", arguments: call["arguments"] as? String ?? ""))
            }
            if let finish = frame["finish"] as? [String: Any] {
                let usage = (finish["usage"] as? [String: Any]).map { usage in
                    Usage(
                        inputTokens: UInt32((usage["input_tokens"] as? NSNumber)?.intValue ?? 0),
                        outputTokens: UInt32((usage["output_tokens"] as? NSNumber)?.intValue ?? 0))
                }
                return .finish(Finish(reason: finish["reason"] as? String ?? "", usage: usage))
            }
            return nil
        }
    }

    func check(against expected: FixtureExpectation, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(events.filter { $0 != .heartbeat } == expected.events, "\(expected.name) via grpcio", sourceLocation: sourceLocation)
        if let error = expected.error {
            #expect(code == error.code.description, "\(expected.name) via grpcio: \(code)", sourceLocation: sourceLocation)
            #expect(details.contains(error.message), "\(expected.name) via grpcio: \(details)", sourceLocation: sourceLocation)
        } else {
            #expect(code == "OK", "\(expected.name) via grpcio: \(code) \(details)", sourceLocation: sourceLocation)
        }
        if !expected.events.isEmpty {
            #expect(frames.first?["start"] != nil, "\(expected.name) via grpcio: first frame", sourceLocation: sourceLocation)
        }
    }
}
