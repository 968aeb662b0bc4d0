/// What one `relay-load` run does; the options of the relay harness's `client.py`, with a
/// gRPC target and a connection count in place of the URL.
struct RelayLoadConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 50051
    /// Free text carried into the JSON: the relay's name and the shape.
    var name = "tokenwire"
    var label = ""
    /// The routed model, e.g. `local/gpt-fake` (a configured provider) or `synthetic/flood`.
    var model = "local/gpt-fake"
    /// Streams open at once: each worker makes requests back to back.
    var concurrency = 1
    var maxTokens = 200
    /// Seconds during which new requests start.
    var duration = 10.0
    /// The most requests in all (0: no cap).
    var requests = 0
    /// Seconds streams in flight get after `duration` before they are cut.
    var grace = 15.0
    /// Per-request deadline, seconds (sent as `grpc-timeout`).
    var timeout = 60.0
    /// Seconds over which the workers' first requests are spread.
    var ramp = 0.0
    /// HTTP/2 connections the streams are spread over.
    var connections = 1
    /// Event-loop threads for the connections.
    var eventLoops = 1
    /// Whether a request without usage on its finish counts as an error (`no_usage`).
    var requireUsage = false
    /// `NAME=PID` processes to report CPU and RSS for.
    var watch: [String] = []
    /// Which client makes the calls, and so where a frame's receive time is taken.
    var client = RelayLoadClient.tokenwire

    /// The nanoseconds of a duration in seconds.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64(seconds * 1e9)
    }
}

/// `relay-load --client`: where a frame's receive time is taken.
enum RelayLoadClient: String, Sendable, CaseIterable {
    /// `TokenwireClient`, the product's client: when the worker's task gets the frame,
    /// after HTTP/2, the gRPC message stream and a hop to the task.
    case tokenwire
    /// `ReadStampingConnection`: once per burst of socket reads, on the connection's event
    /// loop, as the relay harness's `client.py` stamps its reads.
    case raw
}
