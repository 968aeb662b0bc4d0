public import NIOCore
import TokenwireCore

/// One RPC the server serves: its path and the async function that answers it.
///
/// Every method here takes exactly one request message (unary and server-streaming);
/// the handler decodes it, writes zero or more response messages, and returns (status
/// OK) or throws (a `TokenwireError` becomes its status; anything else is UNKNOWN).
public struct GRPCMethod: Sendable {
    public typealias Handler = @Sendable (ByteBuffer, CallContext, GRPCResponseWriter) async throws -> Void

    /// `/package.Service/Method`, case-sensitive.
    public var path: String
    public var handler: Handler

    public init(path: String, handler: @escaping Handler) {
        self.path = path
        self.handler = handler
    }
}

/// Finds the method for a request path.
public struct GRPCMethodRouter: Sendable {
    private var methods: [String: GRPCMethod] = [:]

    public init(_ methods: [GRPCMethod]) {
        for method in methods { self.methods[method.path] = method }
    }

    public func method(for path: String) -> GRPCMethod? { methods[path] }

    /// Paths served, sorted, for error messages.
    public var paths: [String] { methods.keys.sorted() }
}
