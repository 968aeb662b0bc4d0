import TokenwireCore
import TokenwireWire

/// `grpc.health.v1.Health`: Check and Watch over a `HealthStatusStore`.
struct HealthService: Sendable {
    let store: HealthStatusStore

    var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/grpc.health.v1.Health/Check") { request, _, writer in
                let service = try HealthCheckRequest(decoding: request).service
                guard let status = store.status(of: service) else {
                    throw TokenwireError.notFound("unknown service \(ErrorExcerpt.quoted(service)): health is reported for '' and \(TokenStreamService.serviceName)")
                }
                try await writer.write(HealthCheckResponse(status: status))
            },
            GRPCMethod(path: "/grpc.health.v1.Health/Watch") { request, _, writer in
                let service = try HealthCheckRequest(decoding: request).service
                for await status in store.watch(service) {
                    try await writer.write(HealthCheckResponse(status: status))
                }
                // The store finishes its watchers when the server shuts down: end with OK.
                try Task.checkCancellation()
            },
        ]
    }
}
