public import NIOCore
import TokenwireCore

/// One RPC the server serves: its path and the async function that answers it.
///
/// Most methods take exactly one request message (unary and server-streaming): the
/// handler gets it whole. A method that takes a stream of requests (bidirectional
/// streaming, such as server reflection) gets them as a `GRPCRequestStream` as they
/// arrive. Either handler writes zero or more response messages and returns (status OK)
/// or throws (a `TokenwireError` becomes its status; anything else is UNKNOWN).
public struct GRPCMethod: Sendable {
    public typealias Handler = @Sendable (ByteBuffer, CallContext, GRPCResponseWriter) async throws -> Void
    public typealias StreamingHandler = @Sendable (GRPCRequestStream, CallContext, GRPCResponseWriter) async throws -> Void

    /// How the method takes its requests.
    public enum Kind: Sendable {
        /// One request message, handed over once the client half-closes.
        case singleRequest(Handler)
        /// Any number of request messages, handed over as they arrive; the handler starts
        /// with the request headers.
        case requestStream(StreamingHandler)
    }

    /// `/package.Service/Method`, case-sensitive.
    public var path: String
    public var kind: Kind

    /// A method that takes one request message.
    public init(path: String, handler: @escaping Handler) {
        self.path = path
        self.kind = .singleRequest(handler)
    }

    /// A method that takes a stream of request messages (client or bidirectional streaming).
    public static func requestStream(path: String, handler: @escaping StreamingHandler) -> GRPCMethod {
        GRPCMethod(path: path, kind: .requestStream(handler))
    }

    private init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// Whether the method takes a stream of requests.
    var takesRequestStream: Bool {
        if case .requestStream = kind { true } else { false }
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
