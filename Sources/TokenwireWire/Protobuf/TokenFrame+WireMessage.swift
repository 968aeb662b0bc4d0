internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension TokenFrame: WireMessage {
    /// Appends the `tokenwire.v1.TokenFrame` encoding of the frame to `buffer`.
    ///
    /// This is the hot path (one call per token): the C structs live on the stack and the
    /// strings are borrowed with `withCString`, so it allocates nothing beyond growing
    /// `buffer`.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        var frame = Tokenwire__V1__TokenFrame()
        tokenwire__v1__token_frame__init(&frame)
        frame.seq = seq
        frame.index = index
        guard let event else {
            Self.pack(&frame, into: &buffer)
            return
        }
        event.withCEvent(in: &frame) { frame in
            Self.pack(&frame, into: &buffer)
        }
    }

    /// Decodes a `tokenwire.v1.TokenFrame`; an event this version does not know (from a
    /// newer server) decodes as `event == nil`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `TokenFrame`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "tokenwire.v1.TokenFrame",
            direction: .response,
            unpack: { tokenwire__v1__token_frame__unpack(nil, $0, $1) },
            free: { tokenwire__v1__token_frame__free_unpacked($0, nil) },
            read: { frame in
                TokenFrame(
                    seq: frame.pointee.seq,
                    index: frame.pointee.index,
                    event: TokenEvent(cFrame: frame.pointee)
                )
            }
        )
    }

    @inline(__always)
    private static func pack(_ frame: inout Tokenwire__V1__TokenFrame, into buffer: inout ByteBuffer) {
        ProtobufCCodec.write(
            packedSize: tokenwire__v1__token_frame__get_packed_size(&frame),
            into: &buffer
        ) { tokenwire__v1__token_frame__pack(&frame, $0) }
    }
}
