import NIOSSL
import TokenwireCore

/// TLS for the server's listener: its certificate chain and key, and optionally the CA
/// that client certificates must chain to (mutual TLS). `--tls-cert`, `--tls-key`,
/// `--tls-client-ca`.
///
/// The server offers ALPN `h2` only (gRPC is HTTP/2) and TLS 1.2 or newer. A client that
/// offers no ALPN at all is still served HTTP/2 (prior knowledge over TLS).
public struct ServerTLS: Sendable, Hashable {
    /// PEM file with the server's certificate, then any intermediates.
    public var certificatePath: String
    /// PEM file with the certificate's private key.
    public var keyPath: String
    /// PEM file with the CAs client certificates must chain to; nil: no client certificate
    /// is asked for. When set, a client without a valid certificate fails the handshake.
    public var clientCAPath: String?

    public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
    }

    /// Reads the files into a context that every connection's handshake shares.
    /// - Throws: `.invalidArgument` naming the file that could not be read or used.
    func makeContext() throws(TokenwireError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw .invalidArgument("cannot read the TLS certificate \(certificatePath) (--tls-cert): \(error); give a PEM file")
        }
        guard !chain.isEmpty else {
            throw .invalidArgument("the TLS certificate file \(certificatePath) (--tls-cert) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw .invalidArgument("cannot read the TLS private key \(keyPath) (--tls-key): \(error); give an unencrypted PEM key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        if let clientCAPath {
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(clientCAPath)
            } catch {
                throw .invalidArgument("cannot read the client CA \(clientCAPath) (--tls-client-ca): \(error); give a PEM file")
            }
            guard !roots.isEmpty else {
                throw .invalidArgument("the client CA file \(clientCAPath) (--tls-client-ca) holds no PEM certificate")
            }
            // Clients have no host name to check; their certificate must chain to the CA.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(roots)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidArgument(
                "cannot use the TLS certificate \(certificatePath) with the key \(keyPath): \(error) (does the key belong to the certificate?)")
        }
    }
}
