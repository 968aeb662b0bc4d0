import Foundation
import NIOHTTP1
import TokenwireCore
import TokenwireUpstream

/// Maps a provider's HTTP error response to the call's gRPC status, carrying the
/// provider's own message.
///
/// | upstream HTTP | gRPC status | retried |
/// |---|---|---|
/// | 400, 413, 422 | INVALID_ARGUMENT | no |
/// | 401 | UNAUTHENTICATED (Tokenwire's key for the provider is wrong: a server configuration fault) | no |
/// | 403 | PERMISSION_DENIED (same) | no |
/// | 404 | NOT_FOUND | no |
/// | 408, 504 (an upstream timeout) | DEADLINE_EXCEEDED | yes |
/// | 429 | RESOURCE_EXHAUSTED | yes, after `Retry-After` |
/// | 500–599 but 504 (529 "overloaded" included) | UNAVAILABLE | yes, after `Retry-After` if sent |
/// | other | by the provider's error type, else INTERNAL | no |
enum UpstreamHTTPStatus {
    /// The failure for a non-2xx response.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: The response headers (for `Retry-After`).
    ///   - body: Up to the first 64 KiB of the error body.
    ///   - provider: The provider's name; `keySource` says where its key comes from.
    static func failure(
        status: Int,
        headers: HTTPHeaders,
        body: String,
        provider: String,
        keySource: APIKeySource
    ) -> UpstreamFailure {
        let details = ErrorBodyDetails(body)
        var code = ProviderErrorMapping.code(forHTTPStatus: status)
        if code == .internal { code = ProviderErrorMapping.code(forIdentifiers: details.identifiers) }
        var message = "provider '\(provider)' answered HTTP \(status)"
        if let text = details.message { message += ": \(text)" }
        switch status {
        case 401, 403:
            if case .none = keySource {
                message += " (a server configuration fault: the provider has no api_key_env or api_key_file in the providers file; give it one)"
            } else {
                message += " (a server configuration fault: check the API key from \(keySource) and the provider's account)"
            }
        case 404:
            message += " (check the model name and the provider's base_url)"
        default: break
        }
        let retryable = status == 408 || status == 429 || (500...599).contains(status)
        return UpstreamFailure(
            TokenwireError(code: code, message: message),
            isRetryable: retryable,
            retryAfter: retryAfter(in: headers))
    }

    /// `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(in headers: HTTPHeaders) -> Duration? {
        if let text = headers.first(name: "retry-after-ms"), let ms = Double(text), ms >= 0 {
            return .milliseconds(ms)
        }
        guard let text = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(text), seconds >= 0 { return .milliseconds(seconds * 1000) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, date.timeIntervalSinceNow) * 1000)
    }
}

/// The message and error identifiers in a provider's JSON error body, whatever its shape:
/// `{"error":{"message","type","code"}}` (OpenAI, Anthropic, Gemini), `{"message"}`
/// (Cohere), `{"error":"...","error_type"}` (Ollama, TGI), `{"detail":...}`.
struct ErrorBodyDetails {
    var message: String?
    var identifiers: [String] = []

    init(_ body: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
            message = trimmed.isEmpty ? nil : String(trimmed.prefix(300))
            return
        }
        let error = object["error"] as? [String: Any]
        message = (error?["message"] as? String) ?? (object["message"] as? String) ?? (object["error"] as? String)
            ?? (object["detail"] as? String)
        for source in [error, object].compactMap({ $0 }) {
            for key in ["code", "type", "status", "error_type"] {
                if let value = source[key] as? String { identifiers.append(value) }
            }
        }
    }
}
