import Foundation
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

    @Option(help: "The fake provider script, for --provider (default: tools/fake_provider/fake_provider.py of the working directory or of the checkout this binary was built in).")
    var fakeProvider: String?

    /// Checked before `run`, so a mistake prints `demo`'s usage, not the root command's.
    func validate() throws {
        if let provider, UpstreamDialectKind(rawValue: provider) == nil {
            let known = UpstreamDialectKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown dialect '\(provider)' for --provider: use one of \(known)")
        }
    }

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
        guard let dialect = UpstreamDialectKind(rawValue: provider) else { return }  // validate() said why
        let fake = try FakeProviderProcess(script: fakeProvider ?? Self.defaultFakeProvider())
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

    /// The fake provider of the working directory if it has one, else of the checkout this
    /// binary was built in (`.build/<triple>/<configuration>/tokenwire`), so the demo works
    /// from any directory.
    private static func defaultFakeProvider() -> String {
        let relative = "tools/fake_provider/fake_provider.py"
        if FileManager.default.fileExists(atPath: relative) { return relative }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            for _ in 0..<4 {
                directory.deleteLastPathComponent()
                let candidate = directory.appendingPathComponent(relative).path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
            }
        }
        return relative  // FakeProviderProcess says it is missing and what to do
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
