import ArgumentParser
import Foundation

/// `tokenwire-bench soak`: hours of paced relay calls with faults mixed in, against a
/// server relaying the fake provider; samples the server process and checks every call.
/// `tools/soak.sh` starts the server and the fake provider and runs it.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Soak a Tokenwire server that relays the fake provider: many paced streams with faults, for a long time.",
        discussion: """
            Each of --streams workers makes Generate calls back to back on --model (an openai-chat \
            provider of tools/fake_provider, forwarding x-fake-* metadata), each asking for \
            --min-tokens to --max-tokens tokens at --rate tokens/s. Of the calls, 8% are cancelled \
            by the client midway (CANCELLED; the provider must see its request go away), 4% have \
            the provider reset its connection and 3% close it midway (UNAVAILABLE after the tokens \
            before the fault), 3% get HTTP 503 (UNAVAILABLE, no token); the rest must end OK with \
            every token. Every --reset-seconds one client connection is closed with its calls in \
            flight (UNAVAILABLE; their provider requests must end). Every --sample-seconds it \
            prints the calls so far and the server's RSS, open fds and threads (/proc/PID). \
            Passes when every call ended as its fault implies and the server's RSS after the \
            warm-up stays within --rss-tolerance of its value at the end of the warm-up; exit 1 \
            otherwise.
            """)

    @Option(help: "Server as HOST:PORT.")
    var target = "127.0.0.1:50051"

    @Option(help: "Model to call: an openai-chat provider of the fake provider.")
    var model = "fake/m"

    @Option(help: "Base URL of the fake provider (for its request log).")
    var fakeProvider: String

    @Option(help: "Process id of the server, to sample /proc/PID.")
    var serverPid: Int32

    @Option(help: "Process id of the fake provider, to show its RSS too.")
    var fakeProviderPid: Int32 = 0

    @Option(help: "Concurrent streams.")
    var streams = 1000

    @Option(help: "HTTP/2 connections the streams share.")
    var connections = 8

    @Option(help: "Minutes of load.")
    var minutes = 60.0

    @Option(help: "Seconds between samples.")
    var sampleSeconds = 10.0

    @Option(help: "Percent of the run before the RSS check starts (warm-up).")
    var warmupPercent = 10.0

    @Option(help: "Percent the server's RSS may grow after the warm-up.")
    var rssTolerance = 10.0

    @Option(help: "Seconds between client connection resets (0: none).")
    var resetSeconds = 30.0

    @Option(help: "Tokens per second of each stream.")
    var rate = 5.0

    @Option(help: "Fewest tokens per call.")
    var minTokens = 10

    @Option(help: "Most tokens per call.")
    var maxTokens = 60

    @Option(help: "Seconds for the calls in flight at the end to finish.")
    var grace = 90.0

    @Option(help: "Seed of the call mix.")
    var seed: UInt64 = 1

    func validate() throws {
        guard streams > 0, connections > 0, minutes > 0, sampleSeconds > 0, rate > 0, minTokens >= 4, maxTokens >= minTokens,
            (0..<100).contains(warmupPercent), rssTolerance >= 0, resetSeconds >= 0, grace >= 0
        else {
            throw ValidationError("counts and times must be positive, --min-tokens at least 4 and at most --max-tokens, --warmup-percent below 100")
        }
        _ = try hostAndPort()
    }

    func run() async throws {
        let verdict: SoakVerdict
        do {
            let configuration = try makeConfiguration()
            verdict = SoakVerdict(configuration: configuration, result: try await SoakRun(configuration: configuration).run())
        } catch {
            SoakRun.say("soak: \(error)")
            throw ExitCode(2)
        }
        for line in verdict.summary { SoakRun.say(line) }
        if !verdict.problems.isEmpty { throw ExitCode(1) }
    }

    private func makeConfiguration() throws -> SoakConfiguration {
        var configuration = SoakConfiguration()
        (configuration.host, configuration.port) = try hostAndPort()
        configuration.model = model
        configuration.fakeProviderURL = fakeProvider
        configuration.serverPID = serverPid
        configuration.fakeProviderPID = fakeProviderPid
        configuration.streams = streams
        configuration.connections = connections
        configuration.minutes = minutes
        configuration.sampleSeconds = sampleSeconds
        configuration.warmupFraction = warmupPercent / 100
        configuration.rssTolerance = rssTolerance / 100
        configuration.resetSeconds = resetSeconds
        configuration.rate = rate
        configuration.ramp = min(10, minutes * 60 / 10)
        configuration.grace = grace
        configuration.seed = seed
        configuration.mix.minTokens = minTokens
        configuration.mix.maxTokens = maxTokens
        return configuration
    }

    private func hostAndPort() throws -> (String, Int) {
        try HostAndPort.parse(target, option: "--target")
    }
}
