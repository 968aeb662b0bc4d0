import Foundation
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireServer
import TokenwireTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// TLS, mutual TLS and bearer tokens (`--tls-cert`, `--tls-key`, `--tls-client-ca`,
/// `--auth-tokens`), with certificates `openssl` makes for each test, called by our client
/// and by grpcio.
@Suite("TLS, mutual TLS and tokens")
struct TLSAndAuthTests {
    static let acmeToken = "acme-0123456789abcdef0123456789abcdef"
    static let globexToken = "globex-fedcba9876543210fedcba9876543210"

    // MARK: TLS

    @Test func swiftClientStreamsOverTLSTrustingTheServersCA() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await withTestServer(configure: { $0.tls = certificates.serverTLS(mutual: false) }) { _, port in
            var configuration = ClientConfiguration()
            configuration.tls = ClientTLS(caPath: certificates.caPath)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: configuration) { client in
                var texts = 0
                var finished = false
                for try await frame in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 50)) {
                    if case .text = frame.event { texts += 1 }
                    if case .finish = frame.event { finished = true }
                }
                #expect(texts == 50 && finished)
                #expect(try await client.checkHealth() == .serving)
            }
        }
    }

    @Test func clientThatDoesNotTrustTheServersCertificateFailsToConnectNamingTheTLSHandshake() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await withTestServer(configure: { $0.tls = certificates.serverTLS(mutual: false) }) { _, port in
            var configuration = ClientConfiguration()
            configuration.tls = ClientTLS(caPath: certificates.clientCAPath)  // not the server's CA
            let error = await #expect(throws: TokenwireError.self) {
                _ = try await TokenwireClient.connect(host: "127.0.0.1", port: port, configuration: configuration)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
        }
    }

    @Test func mutualTLSServesAClientWithACertificateAndRefusesOneWithoutInsteadOfHanging() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await withTestServer(configure: { $0.tls = certificates.serverTLS(mutual: true) }) { _, port in
            var withCertificate = ClientConfiguration()
            withCertificate.tls = ClientTLS(
                caPath: certificates.caPath, certificatePath: certificates.clientCertificatePath, keyPath: certificates.clientKeyPath)
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: withCertificate) { client in
                let status = try await client.checkHealth()
                #expect(status == .serving)
            }
            // TLS 1.3: the client's handshake completes before the server checks its (absent)
            // certificate, so the refusal is an alert on a connection the client already uses.
            var without = ClientConfiguration()
            without.tls = ClientTLS(caPath: certificates.caPath)
            for _ in 0..<5 {
                let error = await #expect(throws: TokenwireError.self) {
                    let client = try await TokenwireClient.connect(host: "127.0.0.1", port: port, configuration: without)
                    defer { Task { await client.close() } }
                    _ = try await client.checkHealth(deadline: .seconds(60))
                }
                #expect(error?.code == .unavailable, "\(String(describing: error))")
            }
        }
    }

    @Test func grpcioOverMutualTLSWithCallCredentialsGetsTheWholeStream() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tokens = try certificates.write("tokens", "acme \(Self.acmeToken)\n")
        try await withTestServer(configure: {
            $0.tls = certificates.serverTLS(mutual: true)
            $0.authTokensPath = tokens
        }) { _, port in
            let output = try await GrpcioInteropTests().runCase(
                "tls", port: port,
                extra: [
                    "--tls-ca", certificates.caPath, "--tls-cert", certificates.clientCertificatePath,
                    "--tls-key", certificates.clientKeyPath, "--token", Self.acmeToken,
                ])
            #expect(output.stdout.contains("\"frames\": 102"))
        }
    }

    @Test func grpcioOverTLSWithoutTheClientCertificateIsRefusedUnderMutualTLS() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await withTestServer(configure: { $0.tls = certificates.serverTLS(mutual: true) }) { _, port in
            let output = try await GrpcioInteropTests().runCase("tls-refused", port: port, extra: ["--tls-ca", certificates.caPath])
            #expect(output.stdout.contains("\"status\": \"UNAVAILABLE\""))
        }
    }

    @Test func serverRefusesToStartWithAKeyThatIsNotTheCertificates() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.tls = ServerTLS(certificatePath: certificates.serverCertificatePath, keyPath: certificates.clientKeyPath)
        let server = TokenwireServer(configuration: configuration)
        let error = await #expect(throws: TokenwireError.self) { try await server.start() }
        #expect(error?.message.contains("does the key belong to the certificate") == true, "\(String(describing: error))")
        await server.shutdown()
    }

    // MARK: Tokens

    @Test func grpcioWithoutAValidBearerTokenIsUnauthenticatedAndHealthNeedsNone() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tokens = try certificates.write("tokens", "# tenants\nacme \(Self.acmeToken)\n\nglobex \(Self.globexToken)  # rotated 2026-11\n")
        try await withTestServer(configure: { $0.authTokensPath = tokens }) { _, port in
            let output = try await GrpcioInteropTests().runCase("auth", port: port, extra: ["--token", Self.globexToken])
            #expect(output.stdout.contains("\"frames\": 22"))
        }
    }

    @Test func tenantPastItsMaxActiveCallsIsRefusedAndItsSlotFreesWhenACallEnds() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tokens = try certificates.write("tokens", "acme \(Self.acmeToken) max_active_calls=1\nglobex \(Self.globexToken)\n")
        try await withTestServer(configure: { $0.authTokensPath = tokens }) { server, port in
            func client(_ token: String) -> ClientConfiguration {
                var configuration = ClientConfiguration()
                configuration.metadata = [("authorization", "Bearer \(token)")]
                configuration.resumeAttempts = 0
                return configuration
            }
            try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: client(Self.acmeToken)) { acme in
                // The first call runs (it has sent a frame) until this test cancels it.
                let running = Task {
                    for try await _ in acme.generate(GenerateRequest(model: "synthetic/paced", maxTokens: 100_000)) {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                _ = await server.ledger.wait { $0.active == 1 }
                let refused = await #expect(throws: TokenwireError.self) {
                    for try await _ in acme.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)) {}
                }
                #expect(refused?.code == .resourceExhausted)
                #expect(refused?.message.contains("tenant 'acme' is at its limit of 1") == true, "\(String(describing: refused))")
                // Another tenant is not limited by acme's calls.
                try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: client(Self.globexToken)) { globex in
                    for try await _ in globex.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)) {}
                }
                running.cancel()
                _ = await running.result
                _ = await server.ledger.wait { $0.active == 0 }
                var texts = 0
                for try await frame in acme.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)) {
                    if case .text = frame.event { texts += 1 }
                }
                #expect(texts == 3)
            }
        }
    }

    /// `tokenwire serve --auth-tokens` re-reads its file on SIGHUP; a broken file keeps the
    /// tokens in use. The tenant is in the call's log line; the token never is.
    @Test func sighupReloadsTheTokensAndABrokenFileKeepsTheOldOnes() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tokens = try certificates.write("tokens", "acme \(Self.acmeToken)\n")
        let (server, port) = try await ServeProcess.start(["--port", "0", "--auth-tokens", tokens]) { seen in
            seen.range(of: "address=127.0.0.1:").flatMap { Int(seen[$0.upperBound...].prefix(while: \.isNumber)) }
        }
        func status(_ token: String) async throws -> GRPCStatus.Code {
            var configuration = ClientConfiguration()
            configuration.metadata = [("authorization", "Bearer \(token)")]
            return try await TokenwireClient.withConnection(host: "127.0.0.1", port: port, configuration: configuration) { client in
                do {
                    for try await _ in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 2)) {}
                    return .ok
                } catch let error as TokenwireError {
                    return error.code
                }
            }
        }
        do {
            #expect(try await status(Self.acmeToken) == .ok)
            #expect(try await status(Self.globexToken) == .unauthenticated)

            _ = try certificates.write("tokens", "globex \(Self.globexToken)\n")
            server.process.signal(SIGHUP)
            try await server.waitForOutput(containing: "auth tokens reloaded")
            #expect(try await status(Self.globexToken) == .ok)
            #expect(try await status(Self.acmeToken) == .unauthenticated)

            _ = try certificates.write("tokens", "globex short\n")
            server.process.signal(SIGHUP)
            try await server.waitForOutput(containing: "auth tokens not reloaded")
            #expect(try await status(Self.globexToken) == .ok)
        } catch {
            _ = try? await server.stop()
            throw error
        }
        let (termination, log) = try await server.stop()
        #expect(termination == .exited(0))
        #expect(log.contains("tenant=globex"), "\(log)")
        #expect(log.contains("tenant=acme"), "\(log)")
        #expect(!log.contains(Self.acmeToken) && !log.contains(Self.globexToken), "a token reached the log:\n\(log)")
        #expect(log.contains("line 1: tenant 'globex' has a token of 5 bytes"), "\(log)")
    }
}

extension ServeProcess {
    /// Waits (at most 30 s) until the server's standard error contains `text`.
    func waitForOutput(containing text: String) async throws {
        try await withTimeout(30, "tokenwire serve to log \(text)") {
            while !output.withLockedValue({ $0.contains(text) }) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost, and a second CA with a
/// client certificate, made by `openssl` in a directory of their own.
struct TestCertificates: Sendable {
    let directory: String
    var caPath: String { directory + "/ca.pem" }
    var serverCertificatePath: String { directory + "/server.pem" }
    var serverKeyPath: String { directory + "/server.key" }
    var clientCAPath: String { directory + "/clientca.pem" }
    var clientCertificatePath: String { directory + "/client.pem" }
    var clientKeyPath: String { directory + "/client.key" }

    func serverTLS(mutual: Bool) -> ServerTLS {
        ServerTLS(certificatePath: serverCertificatePath, keyPath: serverKeyPath, clientCAPath: mutual ? clientCAPath : nil)
    }

    static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        let script = #"""
            set -e
            cd "$1"
            ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.pem" -days 2 \
                -subj "/CN=tokenwire test $1" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign; }
            leaf() {
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
                printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n' "$3" "$4" > "$1.ext"
                openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
            }
            ca ca
            ca clientca
            leaf server ca "IP:127.0.0.1,DNS:localhost" serverAuth
            leaf client clientca "DNS:tokenwire-test-client" clientAuth
            """#
        let output = try await runProcess("/bin/sh", ["-c", script, "sh", directory])
        guard output.status == 0 else {
            certificates.remove()
            throw TestCertificatesFailed(stderr: output.stderr)
        }
        return certificates
    }

    /// Writes `text` to `name` in the directory; returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct TestCertificatesFailed: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "openssl could not make the test certificates (is openssl installed? tools/bootstrap.sh installs it):\n\(stderr)" }
}

@Suite("The --auth-tokens file")
struct AuthTokensFileTests {
    @Test func commentsBlankLinesTabsAndSeveralTokensPerTenantAreRead() throws {
        let tokens = try AuthTokens(
            parsing: "# who may call\n\nacme\t0123456789abcdef0123  max_active_calls=4\nacme 1123456789abcdef0123 # next\nglobex 2123456789abcdef0123\n",
            source: "tokens.txt")
        #expect(tokens.tenants.map(\.name) == ["acme", "globex"])
        #expect(tokens.tenants.map(\.maxActiveCalls) == [4, nil])
    }

    @Test(arguments: [
        ("acme\n", "tokens.txt line 1: expected 'TENANT TOKEN [max_active_calls=N]', found 1 fields"),
        ("acme short\n", "tokens.txt line 1: tenant 'acme' has a token of 5 bytes; use at least 16"),
        ("ok 0123456789abcdef0123\nac/me 0123456789abcdef0124\n", "line 2: the tenant name 'ac/me' may hold only"),
        ("a 0123456789abcdef0123\nb 0123456789abcdef0123\n", "line 2: this token is already tenant 'a''s"),
        ("a 0123456789abcdef0123 max_active_calls=0\n", "line 1: the third field must be max_active_calls=N with N at least 1"),
        ("a 0123456789abcdef0123 max_active_calls=2\na 1123456789abcdef0123 max_active_calls=3\n", "line 2: tenant 'a' has max_active_calls=3 here and 2"),
        ("# nobody\n", "tokens.txt holds no tokens"),
    ])
    func eachMistakeIsNamedWithItsLineAndNeverShowsTheToken(text: String, message: String) {
        let error = #expect(throws: TokenwireError.self) { try AuthTokens(parsing: text, source: "tokens.txt") }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
        #expect(error?.message.contains("0123456789abcdef") == false)
    }
}
