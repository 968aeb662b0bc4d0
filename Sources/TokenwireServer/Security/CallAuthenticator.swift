import Foundation
import Synchronization
public import TokenwireCore

/// Checks each call's `authorization: Bearer <token>` against the `--auth-tokens` file,
/// and re-reads the file when told (`tokenwire serve` does on SIGHUP).
///
/// `grpc.health.v1` calls need no token: load balancers probe them. Everything else
/// without a token the file names gets UNAUTHENTICATED, with a message saying what was
/// missing or wrong and never echoing the token.
///
/// - Important: Any thread; the tokens are read under a lock and swapped whole.
public final class CallAuthenticator: Sendable {
    /// The file the tokens come from.
    public let path: String
    private let tokens: Mutex<AuthTokens>

    /// An authenticator that knows no token until `reload` reads `path` (the server does
    /// at start).
    init(path: String) {
        self.path = path
        self.tokens = Mutex(AuthTokens())
    }

    /// Reads the file again. On an error the tokens in use stay as they were.
    /// - Returns: the tenants now known.
    @discardableResult
    public func reload() throws(TokenwireError) -> [AuthTokens.Tenant] {
        let fresh = try Self.read(path)
        tokens.withLock { $0 = fresh }
        return fresh.tenants
    }

    private static func read(_ path: String) throws(TokenwireError) -> AuthTokens {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .invalidArgument("cannot read the auth tokens file \(path) (--auth-tokens): \(error.localizedDescription)")
        }
        return try AuthTokens(parsing: text, source: path)
    }

    /// Whether calls to `path` need a token (all but the health service).
    static func requiresToken(_ path: String) -> Bool {
        !path.hasPrefix("/grpc.health.v1.Health/")
    }

    /// The tenant a call's metadata proves it is.
    func authenticate(_ metadata: [(name: String, value: String)]) -> Result<AuthTokens.Tenant, TokenwireError> {
        let values = metadata.filter { $0.name == "authorization" }
        guard let value = values.first?.value else {
            return .failure(.unauthenticated(
                "this server requires a token: send metadata 'authorization: Bearer <token>' (tokens are given out by the server's operator)"))
        }
        guard values.count == 1 else {
            return .failure(.unauthenticated("the call has \(values.count) authorization headers; send exactly one 'authorization: Bearer <token>'"))
        }
        let scheme = "bearer "
        guard value.utf8.count > scheme.utf8.count, value.utf8.prefix(scheme.utf8.count).map({ $0 | 0x20 }).elementsEqual(scheme.utf8) else {
            return .failure(.unauthenticated("the authorization metadata must be 'Bearer <token>'; the scheme sent is not Bearer"))
        }
        let presented = value.utf8.dropFirst(scheme.utf8.count)
        guard let tenant = tokens.withLock({ $0.tenant(presenting: presented) }) else {
            return .failure(.unauthenticated("the bearer token is not one this server accepts; check the token you were given"))
        }
        return .success(tenant)
    }
}
