import Foundation
import NIOConcurrencyHelpers
import Testing
import TokenwireProcess
import TokenwireServer
import TokenwireTestSupport

/// The `tokenwire` executable, run as a user would.
@Suite("tokenwire CLI")
struct CLITests {
    /// The binary SwiftPM built next to the test bundle.
    var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("tokenwire").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? repositoryRoot.appendingPathComponent(".build/debug/tokenwire").path
    }

    @Test func streamFramesPrintsOneJSONLinePerFrameAndASummary() async throws {
        try await withTestServer { _, port in
            let output = try await runProcess(binary, ["stream", "--port", "\(port)", "--model", "synthetic/flood", "--max-tokens", "3", "--frames"])
            #expect(output.status == 0, "\(output.stderr)")
            let lines = output.stdout.split(separator: "\n")
            #expect(lines.count == 5)
            #expect(lines.first?.contains("\"start\":{\"stream_id\":") == true)
            #expect(lines[1] == #"{"seq":2,"index":0,"text":"the "}"#)
            #expect(lines.last == #"{"seq":5,"index":0,"finish":{"reason":"length","usage":{"input_tokens":0,"output_tokens":3}}}"#)
            #expect(output.stderr.contains("ttft="))
            #expect(output.stderr.contains("tokens=3"))
            #expect(output.stderr.contains("status=OK"))
        }
    }

    @Test func streamPrintsTextAndFailsWithTheStatusForAnUnknownModel() async throws {
        try await withTestServer { _, port in
            let good = try await runProcess(binary, ["stream", "--port", "\(port)", "--model", "synthetic/flood", "--max-tokens", "4"])
            #expect(good.stdout == "the quick brown fox \n")
            let bad = try await runProcess(binary, ["stream", "--port", "\(port)", "--model", "nope/none"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("NOT_FOUND: unknown model 'nope/none'"))
        }
    }

    @Test func streamJSONPrintsTheDocumentOrItsSnapshotsAndTheVerdict() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 2000 }) { _, port in
            let base = ["stream", "--port", "\(port)", "--model", "synthetic/json", "--json"]
            let buffered = try await runProcess(binary, base)
            #expect(buffered.status == 0, "\(buffered.stderr)")
            #expect(buffered.stdout == SyntheticProvider.jsonDocument + "\n")
            #expect(buffered.stderr.contains("json=VALID status=OK"), "\(buffered.stderr)")
            let snapshots = try await runProcess(binary, base + ["--json-delivery", "snapshots"])
            let lines = snapshots.stdout.split(separator: "\n")
            #expect(lines.count > 20 && lines.last.map(String.init) == SyntheticProvider.jsonDocument, "\(snapshots.stdout)")
            let cut = try await runProcess(binary, base + ["--max-tokens", "5"])
            #expect(cut.stderr.contains("json=INCOMPLETE status=OK") && cut.stderr.contains("the answer is not the JSON asked for"), "\(cut.stderr)")
            let schema = FileManager.default.temporaryDirectory.appendingPathComponent("city-\(UUID().uuidString).json")
            try Data(#"{"type": "object""#.utf8).write(to: schema)
            defer { try? FileManager.default.removeItem(at: schema) }
            let refused = try await runProcess(binary, ["stream", "--port", "\(port)", "--model", "synthetic/json", "--json-schema", schema.path])
            #expect(refused.status == 1 && refused.stderr.contains("response_format.schema is not a JSON object"), "\(refused.stderr)")
        }
    }

    @Test func versionPrintsTheBuildsVersion() async throws {
        let output = try await runProcess(binary, ["--version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("tokenwire 0."), "\(output.stdout)")
    }

    /// `--metadata` sends gRPC headers (here the bearer token a server with --auth-tokens
    /// wants); `--auth-token-file` does the same from a file; a malformed entry is refused.
    @Test func clientCommandsSendMetadataAndTheBearerToken() async throws {
        let token = "cli-0123456789abcdef0123456789"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokens = directory.appendingPathComponent("tokens").path
        let tokenFile = directory.appendingPathComponent("my-token").path
        try "ops \(token)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        try "\(token)\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await withTestServer(configure: { $0.authTokensPath = tokens }) { _, port in
            let base = ["stream", "--port", "\(port)", "--model", "synthetic/flood", "--max-tokens", "2"]
            let refused = try await runProcess(binary, base)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("UNAUTHENTICATED"), "\(refused.stderr)")
            let withHeader = try await runProcess(binary, base + ["--metadata", "authorization=Bearer \(token)", "--metadata", "x-team=search"])
            #expect(withHeader.status == 0, "\(withHeader.stderr)")
            #expect(withHeader.stdout == "the quick \n")
            let fromFile = try await runProcess(binary, base + ["--auth-token-file", tokenFile])
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            let negative = try await runProcess(binary, ["stream", "--port", "\(port)", "--max-tokens", "-5"])
            #expect(negative.status == 64)
            #expect(negative.stderr.contains("--max-tokens must be a whole number, 0 (the provider's default) or more, not '-5'"), "\(negative.stderr)")
            let malformed = try await runProcess(binary, base + ["--metadata", "no-equals-sign"])
            #expect(malformed.status == 64)
            #expect(malformed.stderr.contains("needs the form NAME=VALUE"), "\(malformed.stderr)")
        }
    }

    @Test func healthPrintsServingAndExitsZero() async throws {
        try await withTestServer { _, port in
            let output = try await runProcess(binary, ["health", "--port", "\(port)"])
            #expect(output.status == 0)
            #expect(output.stdout == "SERVING\n")
        }
    }

    /// The server answered, so it is reachable: an unknown service is exit 1 (not 2), and a
    /// stream with no model is INVALID_ARGUMENT (not NOT_FOUND).
    @Test func healthOfAnUnknownServiceExitsOneAndAStreamWithoutAModelIsInvalid() async throws {
        try await withTestServer { _, port in
            let health = try await runProcess(binary, ["health", "--port", "\(port)", "--service", "nope"])
            #expect(health.status == 1, "\(health.stderr)")
            #expect(health.stderr.contains("NOT_FOUND"), "\(health.stderr)")
            let stream = try await runProcess(binary, ["stream", "--port", "\(port)", "--model", ""])
            #expect(stream.status == 1)
            #expect(stream.stderr.contains("INVALID_ARGUMENT: the request names no model"), "\(stream.stderr)")
        }
    }

    @Test func healthOfAnUnreachableServerSaysSoAndExitsTwo() async throws {
        let output = try await runProcess(binary, ["health", "--port", "1"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("cannot connect to 127.0.0.1:1: connection refused (nothing listens on that port)"), "\(output.stderr)")
        #expect(!output.stderr.contains("SingleConnectionFailure"), "NIO's error dump reached the user")
    }

    @Test func demoStreamsAPacedCompletionWithNoSetup() async throws {
        let output = try await runProcess(binary, ["demo", "--max-tokens", "16", "--rate", "400"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.hasPrefix("the quick brown fox jumps over lazy dog "))
        #expect(output.stderr.contains("status=OK"))
    }

    @Test func demoRelaysAFakeProviderOverARealSSEHop() async throws {
        let output = try await runProcess(binary, ["demo", "--provider", "gemini", "--max-tokens", "5", "--rate", "500"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("tok1 tok2 tok3 tok4 tok5"), "\(output.stdout)")
        #expect(output.stderr.contains("fake gemini provider on 127.0.0.1:"), "\(output.stderr)")
    }

    @Test func demoWithAProviderWorksFromAnyDirectory() async throws {
        let output = try await runProcess(
            binary, ["demo", "--provider", "openai-chat", "--max-tokens", "3", "--rate", "500"],
            directory: FileManager.default.temporaryDirectory.path)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("tok1 tok2 tok3"), "\(output.stdout)")
    }

    @Test func demoWithAnUnknownDialectNamesTheDialectsAndShowsDemosUsage() async throws {
        let output = try await runProcess(binary, ["demo", "--provider", "bogus"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("unknown dialect 'bogus' for --provider: use one of openai-chat"), "\(output.stderr)")
        #expect(output.stderr.contains("tokenwire demo"), "demo's own usage, not the root command's: \(output.stderr)")
    }

    @Test func serveRefusesAConfigurationNamingTheMissingKey() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-config-\(UUID().uuidString).json")
        try #"{"providers": [{"name": "o", "dialect": "openai-chat", "api_key_env": "TOKENWIRE_NO_SUCH_KEY", "models": ["m"]}]}"#
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try await runProcess(binary, ["serve", "--port", "0", "--config", file.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains("TOKENWIRE_NO_SUCH_KEY, which is not set"), "\(output.stderr)")
    }

    @Test func serveDrainsAndExitsOnSIGTERM() async throws {
        let (server, _) = try await ServeProcess.start(["--port", "0", "--log-level", "info"]) { $0.contains("listening") ? true : nil }
        let (termination, text) = try await server.stop()
        #expect(termination == .exited(0))
        #expect(text.contains("shutting down"))
        #expect(text.contains("stopped"))
    }
}
