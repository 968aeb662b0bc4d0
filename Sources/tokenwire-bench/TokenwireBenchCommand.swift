import ArgumentParser

/// `tokenwire-bench`: Tokenwire's benchmarks that need Swift on both ends.
@main
struct TokenwireBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenwire-bench",
        abstract: "Benchmarks: upstream parse throughput per dialect, and a gRPC load client for the relay harness.",
        subcommands: [ParseCommand.self, RelayLoadCommand.self]
    )
}
