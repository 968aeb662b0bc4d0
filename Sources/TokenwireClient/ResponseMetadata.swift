import Synchronization

/// The headers and trailers of one call's response, as they arrive: read `headers` once
/// the first frame has come (or the call has ended), `trailers` once the call has ended.
///
/// ```swift
/// let stream = client.generate(request)
/// for try await frame in stream { ... }
/// print(stream.responseMetadata.trailers ?? [])    // grpc-status, grpc-message, ...
/// ```
///
/// - Important: Any thread: filled on the connection's event loop, read by the caller.
public final class ResponseMetadata: Sendable {
    public typealias Fields = [(name: String, value: String)]

    private struct State {
        var headers: Fields?
        var trailers: Fields?
    }

    private let state = Mutex(State())

    public init() {}

    /// The response's headers (pseudo-headers such as `:status` left out); nil until they
    /// arrive. A call the server answered with trailers only has the same fields here and
    /// in `trailers`.
    public var headers: Fields? { state.withLock { $0.headers } }

    /// The response's trailers (`grpc-status`, `grpc-message` and whatever else the server
    /// sent); nil until the call has ended, and for a call that ended without them (reset,
    /// connection lost).
    public var trailers: Fields? { state.withLock { $0.trailers } }

    /// The first value of `name` (lowercase) in the headers, else in the trailers.
    public func value(of name: String) -> String? {
        state.withLock { state in
            (state.headers?.first { $0.name == name } ?? state.trailers?.first { $0.name == name })?.value
        }
    }

    func received(headers: Fields) {
        state.withLock { $0.headers = headers }
    }

    func received(trailers: Fields) {
        state.withLock { $0.trailers = trailers }
    }
}
