public import TokenwireCore

/// Maps what upstream providers call their errors to gRPC status codes.
///
/// Providers name errors by type or code strings (`rate_limit_error`, `overloaded_error`,
/// `server_error`, `invalid_request_error`, `RESOURCE_EXHAUSTED`, `BadRequestError`, ...)
/// and sometimes by an HTTP status. The strings are compared case-insensitively with `_`,
/// `-` and spaces removed, so `rate_limit_exceeded`, `RateLimitError` and
/// `rate-limit` all read as rate limits.
///
/// | provider says | gRPC code |
/// |---|---|
/// | rate limit, quota, too many requests, resource exhausted, HTTP 429 | RESOURCE_EXHAUSTED |
/// | overloaded, server error, api error, unavailable, incomplete generation, HTTP 5xx but 504 | UNAVAILABLE |
/// | invalid request, bad request, validation, request too large, context length, HTTP 400/413/422 | INVALID_ARGUMENT |
/// | authentication, unauthenticated, unauthorized, invalid API key, HTTP 401 | UNAUTHENTICATED |
/// | permission, forbidden, HTTP 403 | PERMISSION_DENIED |
/// | not found, HTTP 404 | NOT_FOUND |
/// | timeout, HTTP 408/504 | DEADLINE_EXCEEDED (an upstream timeout; UNAVAILABLE would hide the cause) |
/// | anything else | INTERNAL |
public enum ProviderErrorMapping {
    private static let rules: [(fragments: [String], code: GRPCStatus.Code)] = [
        (["ratelimit", "quota", "toomanyrequests", "resourceexhausted"], .resourceExhausted),
        (["authentication", "unauthenticated", "unauthorized", "invalidapikey"], .unauthenticated),
        (["permission", "forbidden"], .permissionDenied),
        (["notfound"], .notFound),
        (
            ["invalidrequest", "badrequest", "validation", "invalidargument", "requesttoolarge", "contextlength"],
            .invalidArgument
        ),
        (["timeout", "deadlineexceeded"], .deadlineExceeded),
        (["overloaded", "servererror", "apierror", "unavailable", "incompletegeneration"], .unavailable),
    ]

    /// The gRPC code for a provider error.
    ///
    /// - Parameters:
    ///   - identifiers: The provider's error type and code strings, most specific first
    ///     (e.g. `code` before `type`); the first one that matches a rule decides.
    ///   - httpStatus: An HTTP status the provider gave, used when no identifier matches.
    /// - Returns: The mapped code; INTERNAL if nothing matches.
    public static func code(forIdentifiers identifiers: [String], httpStatus: Int? = nil) -> GRPCStatus.Code {
        for identifier in identifiers {
            let folded = String(identifier.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " })
            guard !folded.isEmpty else { continue }
            if let rule = rules.first(where: { $0.fragments.contains { folded.contains($0) } }) {
                return rule.code
            }
        }
        if let httpStatus { return code(forHTTPStatus: httpStatus) }
        return .internal
    }

    /// The gRPC code for an upstream's HTTP error status.
    ///
    /// - Parameter status: An HTTP status code (4xx or 5xx; anything else is INTERNAL).
    /// - Returns: The mapped code (529, Anthropic's "overloaded", is UNAVAILABLE).
    public static func code(forHTTPStatus status: Int) -> GRPCStatus.Code {
        switch status {
        case 400, 413, 422: .invalidArgument
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .notFound
        case 408, 504: .deadlineExceeded
        case 429: .resourceExhausted
        case 500...599: .unavailable
        default: .internal
        }
    }

    /// The error for a provider's in-stream error object.
    static func error(
        message: String?,
        identifiers: [String?],
        httpStatus: Int? = nil,
        dialect: String
    ) -> TokenwireError {
        let code = code(forIdentifiers: identifiers.compactMap { $0 }, httpStatus: httpStatus)
        let text = message.flatMap { $0.isEmpty ? nil : $0 }
        let fallback = identifiers.compactMap { $0 }.first.map { "\(dialect) upstream error \($0)" }
        return TokenwireError(code: code, message: text ?? fallback ?? "\(dialect) upstream error")
    }
}
