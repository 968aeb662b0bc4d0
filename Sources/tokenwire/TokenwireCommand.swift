import ArgumentParser
import Foundation
import TokenwireClient
import TokenwireCore

/// `tokenwire`: serve LLM token streams over gRPC, and talk to such a server.
@main
struct TokenwireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenwire",
        abstract: "A gRPC token-streaming server for LLM output, and its client.",
        version: "tokenwire \(TokenwireVersion.current)",
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

    @Option(
        name: .customLong("metadata"),
        help: ArgumentHelp("Call metadata (a gRPC header) as NAME=VALUE; repeat for more. E.g. --metadata traceparent=00-…", valueName: "name=value"))
    var metadata: [String] = []

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
        for entry in metadata {
            configuration.metadata.append(try Self.parseMetadata(entry))
        }
        return configuration
    }

    /// `name=value` as a gRPC header: a lowercase name of letters, digits, `-`, `_`, `.`
    /// (not a reserved `grpc-` or pseudo-header) and a value of visible ASCII and spaces.
    static func parseMetadata(_ entry: String) throws -> (name: String, value: String) {
        guard let equals = entry.firstIndex(of: "=") else {
            throw ValidationError("--metadata '\(entry)' needs the form NAME=VALUE")
        }
        let name = entry[..<equals].lowercased()
        let value = String(entry[entry.index(after: equals)...])
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ValidationError("--metadata name '\(name)' may hold only letters, digits, '-', '_' and '.'")
        }
        guard !name.hasPrefix("grpc-"), !["content-type", "te", "user-agent"].contains(name) else {
            throw ValidationError("--metadata '\(name)' is a header gRPC itself sets")
        }
        guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw ValidationError("--metadata '\(name)': the value may hold only printable ASCII (binary metadata, '-bin', is not supported here)")
        }
        return (name, value)
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
