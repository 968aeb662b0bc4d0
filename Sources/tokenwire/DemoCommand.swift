import ArgumentParser
import TokenwireClient
import TokenwireCore
import TokenwireServer

/// `tokenwire demo`: start a server in this process and stream a paced completion from it
/// over real HTTP/2 on loopback. Needs no network and no API key.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Start a server in-process and stream a synthetic completion from it.")

    @Option(help: "Model to stream (synthetic/paced or synthetic/flood).")
    var model = "synthetic/paced"

    @Option(help: "Tokens to stream.")
    var maxTokens: UInt32 = 120

    @Option(help: "Tokens per second of synthetic/paced.")
    var rate: Double = 40

    @Flag(help: "Print every frame as one JSON line instead of the text.")
    var frames = false

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.pacedTokensPerSecond = rate
        configuration.logLevel = .warning
        let server = TokenwireServer(configuration: configuration)
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
