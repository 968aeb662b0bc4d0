/// `grpc.health.v1.HealthCheckRequest`: the argument of `Health/Check` and `Health/Watch`.
public struct HealthCheckRequest: Sendable, Hashable {
    /// The service to check, such as `tokenwire.v1.TokenStream`; empty asks for the
    /// server's overall health.
    public var service: String

    /// A request for one service's health, or the server's overall health by default.
    /// - Parameter service: The fully qualified service name, or `""` for the whole server.
    public init(service: String = "") {
        self.service = service
    }
}

/// `grpc.health.v1.HealthCheckResponse`: one service's serving status.
public struct HealthCheckResponse: Sendable, Hashable {
    /// Whether the service is serving.
    public var status: ServingStatus

    /// A response carrying a serving status.
    /// - Parameter status: The status to report.
    public init(status: ServingStatus) {
        self.status = status
    }
}
