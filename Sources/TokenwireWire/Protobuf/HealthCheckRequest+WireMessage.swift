internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension HealthCheckRequest: WireMessage {
    /// Appends the `grpc.health.v1.HealthCheckRequest` encoding of the request to `buffer`.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        var message = Grpc__Health__V1__HealthCheckRequest()
        grpc__health__v1__health_check_request__init(&message)
        ProtobufCCodec.withBytes(service) { service in
            message.service = service
            ProtobufCCodec.write(
                packedSize: grpc__health__v1__health_check_request__get_packed_size(&message),
                into: &buffer
            ) { grpc__health__v1__health_check_request__pack(&message, $0) }
        }
    }

    /// Decodes a `grpc.health.v1.HealthCheckRequest`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `HealthCheckRequest`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "grpc.health.v1.HealthCheckRequest",
            direction: .request,
            unpack: { grpc__health__v1__health_check_request__unpack(nil, $0, $1) },
            free: { grpc__health__v1__health_check_request__free_unpacked($0, nil) },
            read: { HealthCheckRequest(service: ProtobufCCodec.string($0.pointee.service)) }
        )
    }
}
