import ArgumentParser
import Foundation
import TokenwireClient

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

    @Flag(help: "Connect over TLS (the server runs with --tls-cert). Implied by --tls-ca and --tls-cert.")
    var tls = false

    @Option(help: "PEM CA certificates the server's certificate must chain to (default: the system's roots).")
    var tlsCa: String?

    @Option(help: "PEM client certificate, for a server that requires one (--tls-client-ca). Needs --tls-key.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Name the server's certificate must carry (default: --host).")
    var tlsServerName: String?

    @Option(help: "File holding the bearer token for a server with --auth-tokens (the environment variable TOKENWIRE_AUTH_TOKEN works too; a file keeps it out of the process list).")
    var authTokenFile: String?

    /// How to connect: TLS when asked, and the bearer token when there is one.
    func clientConfiguration(_ base: ClientConfiguration = ClientConfiguration()) throws -> ClientConfiguration {
        var configuration = base
        if tls || tlsCa != nil || tlsCert != nil || tlsKey != nil || tlsServerName != nil {
            guard (tlsCert == nil) == (tlsKey == nil) else {
                throw ValidationError("--tls-cert and --tls-key go together: the client certificate and its key")
            }
            configuration.tls = ClientTLS(caPath: tlsCa, certificatePath: tlsCert, keyPath: tlsKey, serverName: tlsServerName)
        }
        if let token = try bearerToken() {
            configuration.metadata.append((name: "authorization", value: "Bearer \(token)"))
        }
        return configuration
    }

    private func bearerToken() throws -> String? {
        if let authTokenFile {
            let text: String
            do {
                text = try String(contentsOfFile: authTokenFile, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read --auth-token-file \(authTokenFile): \(error.localizedDescription)")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty, !token.contains(where: { $0.isWhitespace }) else {
                throw ValidationError("--auth-token-file \(authTokenFile) must hold one token and nothing else")
            }
            return token
        }
        if let token = ProcessInfo.processInfo.environment["TOKENWIRE_AUTH_TOKEN"], !token.isEmpty { return token }
        return nil
    }
}
