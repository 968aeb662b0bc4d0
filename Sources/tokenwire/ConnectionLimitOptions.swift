import ArgumentParser
import TokenwireServer

/// `tokenwire serve` options that bound what clients can make the server hold:
/// connections, unfinished requests, and how long a connection may sit silent.
struct ConnectionLimitOptions: ParsableArguments {
    @Option(help: "Open client connections; past it a new connection gets GOAWAY(ENHANCE_YOUR_CALM) and is closed.")
    var maxConnections = ConnectionLimits().maxConnections

    @Option(help: "Bytes of unfinished requests one connection may make the server hold; past it the call gets RESOURCE_EXHAUSTED.")
    var maxConnectionRequestBytes = ConnectionLimits().maxBufferedRequestBytesPerConnection

    @Option(help: "Bytes of unfinished requests all connections together may make the server hold.")
    var maxRequestBytes = ConnectionLimits().maxBufferedRequestBytes

    @Option(help: "Seconds from a call's headers to the end of its request message; past it the call gets DEADLINE_EXCEEDED.")
    var requestTimeout: Double = 10

    @Option(help: "Seconds a new connection has to send the HTTP/2 preface and SETTINGS before it is closed (0: no limit).")
    var prefaceTimeout: Double = 10

    @Option(help: "Seconds a connection may stay open with no call before it gets GOAWAY and is closed (0: never).")
    var idleTimeout: Double = 300

    @Option(help: "Seconds after which a connection gets GOAWAY and drains (±10%), so long-lived connections rebalance behind a load balancer (0: never).")
    var maxConnectionAge: Double = 0

    @Option(help: "Seconds the calls of a connection past --max-connection-age may still run before it is closed (0: as long as they take).")
    var maxConnectionAgeGrace: Double = 0

    @Option(help: "Bytes of decoded request headers accepted per call (SETTINGS_MAX_HEADER_LIST_SIZE); past it RESOURCE_EXHAUSTED.")
    var maxHeaderListSize: UInt32 = HTTP2ConfigurationDefaults.maxHeaderListSize

    func apply(to configuration: inout ServerConfiguration) throws {
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard maxConnectionRequestBytes >= 1, maxRequestBytes >= maxConnectionRequestBytes else {
            throw ValidationError("--max-request-bytes must be at least --max-connection-request-bytes (and that at least 1)")
        }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be above 0") }
        guard prefaceTimeout >= 0, idleTimeout >= 0 else {
            throw ValidationError("--preface-timeout and --idle-timeout must be 0 (off) or more")
        }
        guard maxConnectionAge >= 0, maxConnectionAgeGrace >= 0 else {
            throw ValidationError("--max-connection-age and --max-connection-age-grace must be 0 (off) or more")
        }
        guard maxHeaderListSize >= 1024 else { throw ValidationError("--max-header-list-size must be at least 1024") }
        configuration.connectionLimits.maxConnections = maxConnections
        configuration.connectionLimits.maxBufferedRequestBytesPerConnection = maxConnectionRequestBytes
        configuration.connectionLimits.maxBufferedRequestBytes = maxRequestBytes
        configuration.connectionLimits.requestTimeout = .milliseconds(Int(requestTimeout * 1000))
        configuration.http2.prefaceTimeout = prefaceTimeout > 0 ? .milliseconds(Int(prefaceTimeout * 1000)) : nil
        configuration.http2.idleTimeout = idleTimeout > 0 ? .milliseconds(Int(idleTimeout * 1000)) : nil
        configuration.http2.maxHeaderListSize = maxHeaderListSize
        configuration.http2.maxConnectionAge = maxConnectionAge > 0 ? .milliseconds(Int(maxConnectionAge * 1000)) : nil
        configuration.http2.maxConnectionAgeGrace = maxConnectionAgeGrace > 0 ? .milliseconds(Int(maxConnectionAgeGrace * 1000)) : nil
    }
}

/// HTTP/2 defaults, read from a fresh configuration so the help text cannot drift.
enum HTTP2ConfigurationDefaults {
    static let maxHeaderListSize = ServerConfiguration().http2.maxHeaderListSize
}
