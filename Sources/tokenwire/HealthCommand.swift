import ArgumentParser
import TokenwireClient
import TokenwireCore

/// `tokenwire health`: ask a server's `grpc.health.v1.Health/Check`.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Print a server's health status; exit 0 only when SERVING.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Service to ask about ('' for the whole server).")
    var service = ""

    func run() async throws {
        do {
            let status = try await TokenwireClient.withConnection(
                host: connection.host, port: connection.port, configuration: try connection.clientConfiguration()
            ) { client in
                try await client.checkHealth(service: service)
            }
            print(status)
            if status != .serving { throw ExitCode(1) }
        } catch let error as TokenwireError {
            printError("health check of \(connection.host):\(connection.port) failed: \(error)")
            // The server answered (an unknown service is NOT_FOUND): not healthy, exit 1.
            // No answer at all (unreachable, TLS refused, lost): exit 2.
            throw ExitCode(error.transport == nil && error.code != .deadlineExceeded ? 1 : 2)
        }
    }
}
