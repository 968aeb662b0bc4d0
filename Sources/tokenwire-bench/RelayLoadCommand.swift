import ArgumentParser
import Foundation

extension RelayLoadClient: ExpressibleByArgument {}

/// `tokenwire-bench relay-load`: the relay harness's load client (`client.py`) for a
/// Tokenwire server: C streams of `Generate`, per-token latency from the upstream's stamps.
struct RelayLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-load",
        abstract: "Load a Tokenwire server like ../shared/peers/relay/client.py loads an SSE relay.",
        discussion: """
            C workers make Generate calls back to back over a few HTTP/2 connections for at most \
            --duration seconds and --requests requests, then wait at most --grace seconds for \
            streams in flight and cut the rest. Each text frame's "t<monotonic_ns> " stamps (from \
            upstream.py) give per-token latency = receive time − stamp, on CLOCK_MONOTONIC; \
            frames without stamps count as one token each and are left out of the latency. \
            Writes client.py's JSON (for report.py) and its one-line summary.
            """)

    @Option(help: "Server as HOST:PORT.")
    var target = "127.0.0.1:50051"

    @Option(help: "Name of the relay, carried into the JSON.")
    var name = "tokenwire"

    @Option(help: "Free text carried into the JSON (e.g. the shape id).")
    var label = ""

    @Option(help: "Model to call, as provider/model.")
    var model = "local/gpt-fake"

    @Option(name: [.customShort("c"), .long], help: "Concurrent streams.")
    var concurrency = 1

    @Option(name: [.customShort("n"), .long], help: "max_tokens per request; a request must get exactly this many tokens.")
    var maxTokens = 200

    @Option(name: [.customShort("d"), .long], help: "Stop starting requests after this many seconds.")
    var duration = 10.0

    @Option(name: [.customShort("r"), .long], help: "Total request cap (0: none).")
    var requests = 0

    @Option(help: "Seconds to wait for in-flight streams after --duration.")
    var grace = 15.0

    @Option(help: "Per-request timeout, seconds (sent as grpc-timeout).")
    var timeout = 60.0

    @Option(help: "Spread worker starts over this many seconds.")
    var ramp = 0.0

    @Option(help: "HTTP/2 connections (0: one per 100 streams, at least one).")
    var connections = 0

    @Option(help: "Event-loop threads for the connections.")
    var eventLoops = 1

    @Flag(help: "Count a request whose finish carries no usage as an error (no_usage).")
    var requireUsage = false

    @Option(help: "NAME=PID to report CPU%/RSS for (PID and descendants); repeatable.")
    var watch: [String] = []

    @Option(help: """
        Which client makes the calls: tokenwire (TokenwireClient; a frame's time is taken when \
        the worker's task gets it) or raw (a minimal gRPC client on the same HTTP/2 wrapper that \
        takes the time once per burst of socket reads, on its event loop, as client.py does).
        """)
    var client = RelayLoadClient.tokenwire

    @Option(help: "Append the JSON result to this file.")
    var jsonOut: String?

    @Flag(help: "Print the JSON result on stdout too.")
    var json = false

    func validate() throws {
        guard concurrency > 0, maxTokens >= 0, duration >= 0, requests >= 0, grace >= 0, timeout > 0, ramp >= 0,
            connections >= 0, eventLoops > 0
        else { throw ValidationError("counts and times must not be negative; -c, --timeout and --event-loops above 0") }
        _ = try hostAndPort()
    }

    func run() async throws {
        let result: BenchJSON
        do {
            result = try await RelayLoadRun(configuration: makeConfiguration()).run()
        } catch {
            print("relay-load: \(error)")
            throw ExitCode(1)
        }
        let text = result.serialized
        if let jsonOut { try Self.append(text + "\n", to: jsonOut) }
        if json { print(text) }
        print(RelayLoadSummary(result).line)
    }

    private func makeConfiguration() throws -> RelayLoadConfiguration {
        let (host, port) = try hostAndPort()
        var configuration = RelayLoadConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.name = name
        configuration.label = label
        configuration.model = model
        configuration.concurrency = concurrency
        configuration.maxTokens = maxTokens
        configuration.duration = duration
        configuration.requests = requests
        configuration.grace = grace
        configuration.timeout = timeout
        configuration.ramp = ramp
        configuration.connections = connections > 0 ? connections : max(1, (concurrency + 99) / 100)
        configuration.eventLoops = eventLoops
        configuration.requireUsage = requireUsage
        configuration.watch = watch
        configuration.client = client
        return configuration
    }

    private func hostAndPort() throws -> (String, Int) {
        try HostAndPort.parse(target, option: "--target")
    }

    private static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot open --json-out \(path) for writing")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}
