import ArgumentParser
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireServer
import TokenwireUpstream

/// `tokenwire demo`: start a server in this process and stream a paced completion from it
/// over real HTTP/2 on loopback. Needs no network and no API key.
///
/// With `--provider DIALECT` the tokens come from the fake provider
/// (`tools/fake_provider/fake_provider.py`) speaking that dialect's SSE over a real HTTP
/// hop on loopback: fake provider → Tokenwire's relay → gRPC → this client.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Start a server in-process and stream a synthetic completion from it.")

    @Option(help: "Model to stream (synthetic/paced or synthetic/flood).")
    var model = "synthetic/paced"

    @Option(parsing: .unconditional, help: "Tokens to stream.", transform: TokenCount.parse)
    var maxTokens: UInt32 = 120

    @Option(help: "Tokens per second of synthetic/paced.")
    var rate: Double = 40

    @Flag(help: "Print every frame as one JSON line instead of the text.")
    var frames = false

    @Option(help: "Relay a fake upstream provider speaking this dialect (openai-chat, anthropic, gemini, ...) instead of synthetic tokens.")
    var provider: String?

    @Option(help: "The fake provider script, for --provider.")
    var fakeProvider = "tools/fake_provider/fake_provider.py"

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.pacedTokensPerSecond = rate
        configuration.logLevel = .warning
        guard let provider else {
            let server = TokenwireServer(configuration: configuration)
            try await demo(server, model: model)
            return
        }
        guard let dialect = UpstreamDialectKind(rawValue: provider) else {
            let known = UpstreamDialectKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown dialect '\(provider)': use one of \(known)")
        }
        let fake = try FakeProviderProcess(script: fakeProvider)
        defer { fake.stop() }
        let relay = RelayConfiguration(providers: [
            UpstreamProviderConfiguration(
                name: "fake", dialect: dialect, baseURL: Self.baseURL(for: dialect, port: fake.port),
                headers: ["x-fake-rate": "\(rate)"], models: ["demo"])
        ])
        let server = try TokenwireServer(configuration: configuration) { group in try RelayCatalog.make(relay, group: group) }
        printError("tokenwire demo: fake \(dialect.rawValue) provider on 127.0.0.1:\(fake.port)")
        try await demo(server, model: "fake/demo")
    }

    private static func baseURL(for dialect: UpstreamDialectKind, port: Int) -> String {
        switch dialect {
        case .openAIChat, .openAIResponses: "http://127.0.0.1:\(port)/v1"
        default: "http://127.0.0.1:\(port)"
        }
    }

    private func demo(_ server: TokenwireServer, model: String) async throws {
        try await server.start()
        let port = server.port ?? 0
        printError("tokenwire demo: server on 127.0.0.1:\(port); streaming \(maxTokens) tokens of \(model) over gRPC/HTTP/2")
        let request = GenerateRequest(
            model: model, messages: [ChatMessage(role: "user", content: "Show me token streaming.")], maxTokens: maxTokens)
        let printer = StreamPrinter(mode: frames ? .frames : .text)
        let status = try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            await printer.consume(client.generate(request))
        }
        printer.printSummary(status: status)
        await server.shutdown()
        if status.code != .ok { throw ExitCode(1) }
    }
}
