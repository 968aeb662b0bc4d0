public import NIOCore
public import TokenwireCore

/// A message that travels as protobuf inside a gRPC message: it encodes itself into a
/// `ByteBuffer` and decodes itself from one.
///
/// Conforming types: `GenerateRequest`, `BatchRequest`, `TokenFrame`, `Completion`,
/// `HealthCheckRequest`, `HealthCheckResponse`, `ServerReflectionRequest` and
/// `ServerReflectionResponse`. The codec is protobuf-c; no C type
/// crosses this protocol.
///
/// - Important: protobuf-c carries proto3 strings as NUL-terminated C strings, so a
///   string field is cut at its first U+0000 when encoded. Decoding never traps: invalid
///   UTF-8 from a peer becomes U+FFFD.
public protocol WireMessage: Sendable {
    /// Appends the message's protobuf encoding (without a gRPC prefix) to `buffer`.
    /// - Parameter buffer: The buffer to write into; its writer index moves past the message.
    func encode(into buffer: inout ByteBuffer)

    /// Decodes a message from the readable bytes of `bytes` (one whole gRPC message body).
    /// - Parameter bytes: The protobuf encoding of exactly one message.
    /// - Throws: `TokenwireError` with code `.invalidArgument` when the bytes are not a
    ///   valid encoding of the message.
    init(decoding bytes: ByteBuffer) throws(TokenwireError)
}
