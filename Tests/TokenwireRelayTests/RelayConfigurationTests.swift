import Foundation
import Testing
@testable import TokenwireRelay
import TokenwireUpstream

/// The provider configuration file: what it accepts, and what it says when it cannot.
@Suite("Provider configuration file")
struct RelayConfigurationTests {
    func parse(_ json: String) throws(RelayConfigurationError) -> RelayConfiguration {
        try RelayConfiguration.parse(Data(json.utf8), path: "test.json")
    }

    func problem(_ json: String) -> String {
        do {
            _ = try parse(json)
            return "(accepted)"
        } catch {
            return error.description
        }
    }

    @Test func fullProviderEntryIsRead() throws {
        let configuration = try parse("""
            {"providers": [{"name": "openai", "dialect": "openai-chat", "api_key_env": "OPENAI_API_KEY",
              "headers": {"OpenAI-Organization": "org"}, "forward_metadata": ["x-trace-*"],
              "models": ["gpt-4o-mini"], "connect_timeout_ms": 500, "stall_timeout_ms": 30000,
              "first_heartbeat_ms": 250, "heartbeat_interval_ms": 2000, "max_attempts": 4,
              "initial_backoff_ms": 100, "max_backoff_ms": 1000, "http1_only": true},
             {"name": "claude", "dialect": "anthropic", "api_key_file": "/run/secrets/anthropic", "models": ["haiku"]}],
             "aliases": {"fast": "openai/gpt-4o-mini"},
             "fallbacks": {"fast": ["claude/haiku"]}}
            """)
        let openai = configuration.providers[0]
        #expect(openai.baseURL == "https://api.openai.com/v1")
        #expect(openai.apiKey == .environment("OPENAI_API_KEY"))
        #expect(openai.routedModels == ["openai/gpt-4o-mini"])
        #expect(openai.timeouts == UpstreamTimeouts(
            connect: .milliseconds(500), stall: .seconds(30), firstHeartbeat: .milliseconds(250), heartbeatInterval: .seconds(2)))
        #expect(openai.retry == RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)))
        #expect(openai.http1Only)
        #expect(configuration.providers[1].apiKey == .file("/run/secrets/anthropic"))
        #expect(configuration.providers[1].baseURL == "https://api.anthropic.com")
        #expect(configuration.fallbacks == ["fast": ["claude/haiku"]])
    }

    @Test func unknownKeysAreNamed() {
        #expect(problem(#"{"providers": [{"name": "a", "dialect": "tgi", "base_url": "http://x", "models": ["m"], "api_key": "sk"}]}"#)
            .contains("provider 'a' has an unknown key 'api_key'"))
    }

    @Test func unknownDialectIsNamedWithTheKnownOnes() {
        #expect(problem(#"{"providers": [{"name": "a", "dialect": "openai", "models": ["m"]}]}"#)
            .contains("provider 'a' has the unknown dialect 'openai'; the dialects are: openai-chat, openai-responses, anthropic, gemini, cohere, ollama, tgi"))
        #expect(problem(#"{"providers": [{"name": "a", "models": ["m"]}]}"#)
            .contains("provider 'a' needs a 'dialect', one of: openai-chat"))
    }

    @Test func aliasesAndFallbacksMustNameServedModels() {
        let provider = #"{"name": "a", "dialect": "ollama", "models": ["m"]}"#
        #expect(problem(#"{"providers": [\#(provider)], "aliases": {"x": "a/nope"}}"#).contains("alias 'x' points at 'a/nope'"))
        #expect(problem(#"{"providers": [\#(provider)], "fallbacks": {"a/m": ["b/m"]}}"#).contains("fallbacks name 'b/m'"))
    }

    @Test func tgiNeedsABaseURLAndURLsMustBeHTTP() {
        #expect(problem(#"{"providers": [{"name": "a", "dialect": "tgi", "models": ["m"]}]}"#).contains("needs a 'base_url'"))
        #expect(problem(#"{"providers": [{"name": "a", "dialect": "tgi", "base_url": "ftp://x", "models": ["m"]}]}"#)
            .contains("http:// or https://"))
    }

    /// Found by the relay-config fuzz target (docs/FUZZING.md): `Duration.milliseconds(1e300)`
    /// trapped instead of the reader refusing the value.
    @Test(arguments: ["1e300", "1e13", "-1", "1.7976931348623157e308"])
    func hugeOrNegativeMillisecondsAreRefusedNotTrapped(_ value: String) {
        #expect(problem(#"{"providers": [{"name": "g", "dialect": "gemini", "models": ["m"], "stall_timeout_ms": \#(value)}]}"#)
            .contains("'stall_timeout_ms' must be a non-negative number of milliseconds, at most 10^12"))
    }

    @Test func largestMillisecondsAreAccepted() throws {
        let configuration = try parse(#"{"providers": [{"name": "g", "dialect": "gemini", "models": ["m"], "stall_timeout_ms": 1e12}]}"#)
        #expect(configuration.providers[0].timeouts.stall == .seconds(1_000_000_000))
    }

    @Test func duplicateAndReservedNamesAreRefused() {
        let entry = #"{"name": "a", "dialect": "ollama", "models": ["m"]}"#
        #expect(problem(#"{"providers": [\#(entry), \#(entry)]}"#).contains("two providers are named 'a'"))
        #expect(problem(#"{"providers": [{"name": "synthetic", "dialect": "ollama", "models": ["m"]}]}"#).contains("reserved"))
    }

    @Test func missingKeyNamesTheVariableNeverAValue() throws {
        let source = APIKeySource.environment("TOKENWIRE_TEST_KEY")
        #expect(throws: RelayConfigurationError.self) { try source.resolve(provider: "a", environment: [:]) }
        do {
            _ = try source.resolve(provider: "a", environment: ["TOKENWIRE_TEST_KEY": " "])
        } catch {
            #expect(error.description.contains("TOKENWIRE_TEST_KEY, which is not set"))
        }
        #expect(try source.resolve(provider: "a", environment: ["TOKENWIRE_TEST_KEY": "sk-secret\n"]) == "sk-secret")
    }

    @Test func keyFileGivesItsFirstLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-key-\(UUID().uuidString)")
        try "sk-from-file\nignored\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try APIKeySource.file(file.path).resolve(provider: "a", environment: [:]) == "sk-from-file")
    }
}
