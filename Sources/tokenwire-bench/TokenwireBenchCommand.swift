import ArgumentParser

/// `tokenwire-bench`: Tokenwire's benchmarks that need Swift on both ends.
@main
struct TokenwireBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenwire-bench",
        abstract: "Benchmarks: upstream parse throughput per dialect, a gRPC load client for the relay harness, and the soak.",
        subcommands: [ParseCommand.self, RelayLoadCommand.self, SoakCommand.self, ResumeLatencyCommand.self]
    )
}
