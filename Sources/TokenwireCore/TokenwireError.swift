/// An error that carries a gRPC status: what the server sends as trailers, and what the
/// client throws when a call ends with anything but OK.
public struct TokenwireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The gRPC status code.
    public var code: GRPCStatus.Code
    /// What failed and, where we know it, what to do about it.
    public var message: String
    /// When the call ended because of its connection rather than a status from the
    /// server: how (nil for a status the server sent).
    public var transport: TransportFailure?

    /// How a connection ended a call.
    public enum TransportFailure: Sendable, Hashable {
        /// The connection was lost (closed or reset under the call, keepalive timeout).
        case connectionLost
        /// The server is shutting down (GOAWAY) and did not process this call: it is safe
        /// to send again.
        case notProcessed
        /// The caller closed the client.
        case closedByCaller
    }

    public init(code: GRPCStatus.Code, message: String, transport: TransportFailure? = nil) {
        self.code = code
        self.message = message
        self.transport = transport
    }

    /// The status this error renders as on the wire.
    public var status: GRPCStatus { GRPCStatus(code: code, message: message) }

    public var description: String { "\(code): \(message)" }
}

extension TokenwireError {
    public static func invalidArgument(_ message: String) -> Self { .init(code: .invalidArgument, message: message) }
    public static func notFound(_ message: String) -> Self { .init(code: .notFound, message: message) }
    public static func unimplemented(_ message: String) -> Self { .init(code: .unimplemented, message: message) }
    public static func unavailable(_ message: String) -> Self { .init(code: .unavailable, message: message) }
    public static func cancelled(_ message: String) -> Self { .init(code: .cancelled, message: message) }
    public static func deadlineExceeded(_ message: String) -> Self { .init(code: .deadlineExceeded, message: message) }
    public static func resourceExhausted(_ message: String) -> Self { .init(code: .resourceExhausted, message: message) }
    public static func `internal`(_ message: String) -> Self { .init(code: .internal, message: message) }
    public static func unauthenticated(_ message: String) -> Self { .init(code: .unauthenticated, message: message) }
}
