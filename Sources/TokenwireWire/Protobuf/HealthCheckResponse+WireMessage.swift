internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension HealthCheckResponse: WireMessage {
    /// Appends the `grpc.health.v1.HealthCheckResponse` encoding of the response to `buffer`.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        var message = Grpc__Health__V1__HealthCheckResponse()
        grpc__health__v1__health_check_response__init(&message)
        message.status = Grpc__Health__V1__HealthCheckResponse__ServingStatus(rawValue: .init(status.rawValue))
        ProtobufCCodec.write(
            packedSize: grpc__health__v1__health_check_response__get_packed_size(&message),
            into: &buffer
        ) { grpc__health__v1__health_check_response__pack(&message, $0) }
    }

    /// Decodes a `grpc.health.v1.HealthCheckResponse`; a status this version does not know
    /// (proto3 enums are open) reads as `.unknown`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `HealthCheckResponse`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "grpc.health.v1.HealthCheckResponse",
            direction: .response,
            unpack: { grpc__health__v1__health_check_response__unpack(nil, $0, $1) },
            free: { grpc__health__v1__health_check_response__free_unpacked($0, nil) },
            read: { message in
                let status = ServingStatus(rawValue: Int(message.pointee.status.rawValue)) ?? .unknown
                return HealthCheckResponse(status: status)
            }
        )
    }
}
