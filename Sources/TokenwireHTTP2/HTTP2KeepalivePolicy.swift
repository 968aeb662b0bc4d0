/// How a connection treats PING frames (gRPC proposals A8 and A9).
///
/// LLM calls can sit silent for a minute while a model thinks, so clients send keepalive
/// PINGs during open calls. Unlike gRPC's default (one PING per 5 minutes), this policy
/// permits any number of PINGs while a call is open; only PINGs on an idle connection
/// count as strikes, and more than `maxPingStrikes` of those too close together end the
/// connection with GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
public struct HTTP2KeepalivePolicy: Sendable {
    /// Send our own PING after this much time without one, to find dead peers; nil: never.
    public var pingInterval: Duration?
    /// Close the connection when our PING is not answered within this time.
    public var pingTimeout: Duration = .seconds(20)
    /// On a connection with no open stream, PINGs closer together than this are strikes.
    public var minimumPingIntervalWithoutCalls: Duration = .seconds(60)
    /// Strikes tolerated before GOAWAY(ENHANCE_YOUR_CALM).
    public var maxPingStrikes = 2

    public init() {}
}
