/// What one client, or all of them together, can make the server hold before the server
/// refuses (`ServerConfiguration.connectionLimits`). docs/ARCHITECTURE.md lists every
/// limit with its flag.
public struct ConnectionLimits: Sendable, Hashable {
    /// Open client connections (`--max-connections`). A connection past it is accepted,
    /// sent GOAWAY(ENHANCE_YOUR_CALM, "too many connections") and closed.
    public var maxConnections = 4096
    /// Bytes of requests still arriving that one connection may have the server hold
    /// (`--max-connection-request-bytes`). The call whose bytes pass it gets
    /// RESOURCE_EXHAUSTED.
    public var maxBufferedRequestBytesPerConnection = 32 * 1024 * 1024
    /// The same, for all connections together (`--max-request-bytes`).
    public var maxBufferedRequestBytes = 512 * 1024 * 1024
    /// Time from a call's request headers to the end of its request message
    /// (`--request-timeout`). Past it the call gets DEADLINE_EXCEEDED and its bytes are freed.
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}
