import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// The checked request headers of a gRPC call.
struct GRPCRequestHead {
    var method: GRPCMethod
    var context: CallContext
    var timeout: Duration?
    /// The request's messages may be gzip-compressed (`grpc-encoding: gzip`).
    var gzip = false

    /// The `grpc-encoding`s a request may use; sent as `grpc-accept-encoding`.
    static let acceptedEncodings = "identity,gzip"

    /// Why a request was refused before it started, as the HEADERS that answer it.
    struct Rejection: Error {
        var headers: [HTTP2Header]

        static func status(_ code: GRPCStatus.Code, _ message: String) -> Rejection {
            Rejection(headers: GRPCStatusTrailers.trailersOnly(GRPCStatus(code: code, message: message)))
        }
    }

    /// Checks method, content-type, path, encoding and timeout (gRPC PROTOCOL-HTTP2).
    static func parse(_ headers: [HTTP2Header], router: GRPCMethodRouter) -> Result<GRPCRequestHead, Rejection> {
        let method = headers.first(named: ":method") ?? ""
        let path = headers.first(named: ":path") ?? ""
        let contentType = headers.first(named: "content-type") ?? ""
        guard method == "POST" else {
            return .failure(Rejection(headers: [
                HTTP2Header(":status", "405"), HTTP2Header("allow", "POST"),
                HTTP2Header("grpc-status", String(GRPCStatus.Code.unimplemented.rawValue)),
                HTTP2Header("grpc-message", GRPCStatusMessage.percentEncode("gRPC calls use POST, not \(ErrorExcerpt.quoted(method))")),
            ]))
        }
        guard contentType.hasPrefix("application/grpc"), !contentType.hasPrefix("application/grpc-web") else {
            let shown = contentType.isEmpty ? "no content-type" : "content-type \(ErrorExcerpt.quoted(contentType))"
            return .failure(Rejection(headers: [
                HTTP2Header(":status", "415"), HTTP2Header("content-type", "application/grpc"),
                HTTP2Header("grpc-status", String(GRPCStatus.Code.internal.rawValue)),
                HTTP2Header("grpc-message", GRPCStatusMessage.percentEncode(
                    "\(shown) is not gRPC: send content-type application/grpc (or application/grpc+proto)")),
            ]))
        }
        if contentType.hasPrefix("application/grpc+"), contentType != "application/grpc+proto" {
            return .failure(.status(.unimplemented, "only protobuf messages are served; \(ErrorExcerpt.quoted(contentType)) is not supported"))
        }
        guard let found = router.method(for: path) else {
            return .failure(.status(.unimplemented,
                "unknown method \(ErrorExcerpt.quoted(path)): this server serves \(router.paths.joined(separator: ", "))"))
        }
        var gzip = false
        if let encoding = headers.first(named: "grpc-encoding"), encoding != "identity" {
            guard encoding == "gzip" else {
                return .failure(.status(.unimplemented,
                    "grpc-encoding \(ErrorExcerpt.quoted(encoding)) is not supported: this server accepts identity and gzip"))
            }
            gzip = true
        }
        var timeout: Duration?
        if let value = headers.first(named: "grpc-timeout") {
            guard let parsed = GRPCTimeout.parse(value) else {
                return .failure(.status(.internal,
                    "malformed grpc-timeout \(ErrorExcerpt.quoted(value)): expected 1 to 8 digits and a unit (H, M, S, m, u, n)"))
            }
            timeout = parsed
        }
        let metadata = headers
            .filter { !$0.name.hasPrefix(":") && !reserved.contains($0.name) }
            .map { (name: $0.name, value: $0.value) }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        return .success(GRPCRequestHead(
            method: found, context: CallContext(path: path, deadline: deadline, metadata: metadata), timeout: timeout, gzip: gzip))
    }

    private static let reserved: Set<String> = [
        "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "user-agent",
    ]
}
