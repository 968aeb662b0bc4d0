import NIOCore
import NIOSSL
import TokenwireCore

/// TLS for a client's connections (`--tls`, `--tls-ca`, `--tls-cert`, `--tls-key` in the
/// CLI): which CAs the server's certificate must chain to, and the client's own
/// certificate for servers that require one (mutual TLS).
public struct ClientTLS: Sendable, Hashable {
    /// PEM file of the CAs to trust; nil trusts the system's roots.
    public var caPath: String?
    /// PEM certificate chain to present (mutual TLS); needs `keyPath`.
    public var certificatePath: String?
    /// PEM private key of `certificatePath`.
    public var keyPath: String?
    /// The name the server's certificate must carry, also sent as SNI; nil uses the host
    /// connected to (an IP address is checked against the certificate's IP entries).
    public var serverName: String?

    public init(caPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil, serverName: String? = nil) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.serverName = serverName
    }

    /// Reads the files into a context every connection of the client shares.
    /// - Throws: `.invalidArgument` naming the file that could not be read or used.
    func makeContext() throws(TokenwireError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        if let caPath {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caPath)
                guard !roots.isEmpty else { throw TokenwireError.invalidArgument("no PEM certificate in it") }
                configuration.trustRoots = .certificates(roots)
            } catch {
                throw .invalidArgument("cannot read the CA file \(caPath) (--tls-ca): \(error); give a PEM file")
            }
        }
        switch (certificatePath, keyPath) {
        case (let certificatePath?, let keyPath?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            } catch {
                throw .invalidArgument("cannot read the client certificate \(certificatePath) (--tls-cert): \(error); give a PEM file")
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
            } catch {
                throw .invalidArgument("cannot read the client key \(keyPath) (--tls-key): \(error); give an unencrypted PEM key")
            }
        case (nil, nil):
            break
        default:
            throw .invalidArgument("a client certificate needs both --tls-cert and --tls-key")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidArgument("cannot set up TLS with these files: \(error) (does --tls-key belong to --tls-cert?)")
        }
    }

    /// The handler that runs TLS on a new connection to `host`.
    static func makeHandler(context: NIOSSLContext, host: String, serverName: String?) throws -> NIOSSLClientHandler {
        // SNI may not be an IP address; the certificate check still sees the address.
        let name = serverName ?? host
        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : name)
    }
}
