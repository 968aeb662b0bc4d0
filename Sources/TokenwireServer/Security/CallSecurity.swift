import TokenwireCore

/// What a connection checks before a call starts: its token (`--auth-tokens`) and its
/// tenant's limit on running calls.
struct CallSecurity: Sendable {
    var authenticator: CallAuthenticator?
    var tenantLimits: TenantCallLimits

    /// The call's tenant, nil when the server takes no tokens or the method needs none.
    /// - Throws: UNAUTHENTICATED when the method needs a token the metadata lacks.
    func authenticate(_ context: CallContext) throws(TokenwireError) -> AuthTokens.Tenant? {
        guard let authenticator, CallAuthenticator.requiresToken(context.path) else { return nil }
        return try authenticator.authenticate(context.metadata).get()
    }
}
