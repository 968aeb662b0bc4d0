import ArgumentParser

/// `tokenwire`: serve LLM token streams over gRPC, and talk to such a server.
@main
struct TokenwireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenwire",
        abstract: "A gRPC token-streaming server for LLM output, and its client.",
        subcommands: [ServeCommand.self, StreamCommand.self, HealthCommand.self, DemoCommand.self, BatchCommand.self, SlowConsumersCommand.self]
    )
}

/// Where a client command connects.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server host.")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port = 50051
}
