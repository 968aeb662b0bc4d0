public import TokenwireHTTP2

/// How a `TokenwireClient` connects and calls.
public struct ClientConfiguration: Sendable {
    /// HTTP/2 settings. The client credits received data back to the server only as the
    /// caller consumes frames, so a slow consumer slows the server instead of growing a
    /// buffer here.
    public var http2: HTTP2Configuration = {
        var http2 = HTTP2Configuration()
        http2.manualWindowUpdates = true
        return http2
    }()
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration = .seconds(10)
    /// Attempts at a new connection when a call finds the last one lost or going away
    /// (the first connection, made by `connect`, is tried once).
    public var reconnectAttempts = 5
    /// The wait before the second attempt; it doubles after each failure, up to 2 s.
    public var reconnectBackoff: Duration = .milliseconds(100)
    /// Times `generate` resumes its stream after a lost connection (a new connection, the
    /// stream's resume token and the last seq read); 0 turns resuming off.
    public var resumeAttempts = 3
    /// Deadline for calls that give none; nil waits as long as the server streams.
    public var defaultDeadline: Duration?
    /// Largest response message accepted.
    public var maxReceiveMessageSize = 4 * 1024 * 1024
    /// Frames buffered ahead of the consumer before the client stops granting window.
    public var bufferedFrames = 1024
    /// TLS for the connections; nil speaks cleartext HTTP/2 (h2c).
    public var tls: ClientTLS?
    /// Metadata sent with every call, e.g. `("authorization", "Bearer …")` for a server
    /// with `--auth-tokens`. Names are lowercase; values must be valid header values.
    public var metadata: [(name: String, value: String)] = []

    public init() {}
}
