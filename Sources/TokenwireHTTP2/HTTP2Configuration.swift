/// Settings of one HTTP/2 connection, for either role.
public struct HTTP2Configuration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise (nghttp2's own default is unlimited).
    public var maxConcurrentStreams: UInt32 = 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: how much a peer may send on one stream
    /// before we grant more.
    public var initialWindowSize: UInt32 = 1 << 20
    /// Our receive window for the whole connection.
    public var connectionWindowSize: Int32 = 1 << 24
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise (gRPC suggests 8 KiB; we allow 16).
    public var maxHeaderListSize: UInt32 = 16 * 1024
    /// When true, received DATA is credited back to the peer only when the layer above
    /// calls `consume`, so a slow reader closes the window (client-side backpressure).
    public var manualWindowUpdates: Bool = false
    /// Bytes queued per stream above which a writer suspends.
    public var outboundHighWatermark: Int = 64 * 1024
    /// Bytes queued per stream at or below which a suspended writer resumes.
    public var outboundLowWatermark: Int = 16 * 1024

    /// Bytes a writer may queue before it yields its thread to other tasks (so a new
    /// call's first token is not stuck behind producers that are never made to wait).
    public var writerYieldInterval: Int = 1024

    /// Server: time a new connection has to send the HTTP/2 preface and its SETTINGS
    /// before it is closed (`--preface-timeout`); nil: no limit.
    public var prefaceTimeout: Duration? = .seconds(10)
    /// Server: a connection with no open stream for this long gets GOAWAY and is closed
    /// (`--idle-timeout`); nil: never.
    public var idleTimeout: Duration? = .seconds(300)
    /// Server: a connection this old (give or take 10%, so that connections made together
    /// do not all go at once) gets the two-phase GOAWAY: its calls finish, new ones go to a
    /// new connection, which a load balancer may send elsewhere (`--max-connection-age`,
    /// gRPC's MAX_CONNECTION_AGE); nil: never.
    public var maxConnectionAge: Duration?
    /// Server: how long the calls of a connection past its age may still run before it is
    /// closed under them (`--max-connection-age-grace`); nil: as long as they take.
    public var maxConnectionAgeGrace: Duration?

    public init() {}
}
