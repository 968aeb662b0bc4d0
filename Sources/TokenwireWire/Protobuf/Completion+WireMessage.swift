internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension Completion: WireMessage {
    /// Appends the `tokenwire.v1.Completion` encoding of the completion to `buffer`;
    /// `finish == nil` leaves the sub-message absent.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        ProtobufCArena.with { arena in
            let message = arena.message(Tokenwire__V1__Completion.self) { tokenwire__v1__completion__init($0) }
            message.pointee.model = arena.bytes(model)
            message.pointee.text = arena.bytes(text)
            message.pointee.n_tool_calls = toolCalls.count
            message.pointee.tool_calls = arena.pointerArray(of: Tokenwire__V1__ToolCall.self, count: toolCalls.count)
            for (position, toolCall) in toolCalls.enumerated() {
                message.pointee.tool_calls[position] = toolCall.cMessage(in: &arena)
            }
            guard let finish else {
                Self.pack(message, into: &buffer)
                return
            }
            finish.withCMessage { finish in
                message.pointee.finish = finish
                Self.pack(message, into: &buffer)
            }
        }
    }

    /// Decodes a `tokenwire.v1.Completion`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `Completion`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "tokenwire.v1.Completion",
            direction: .response,
            unpack: { tokenwire__v1__completion__unpack(nil, $0, $1) },
            free: { tokenwire__v1__completion__free_unpacked($0, nil) },
            read: { Completion(cMessage: $0.pointee) }
        )
    }

    private static func pack(
        _ message: UnsafeMutablePointer<Tokenwire__V1__Completion>,
        into buffer: inout ByteBuffer
    ) {
        ProtobufCCodec.write(
            packedSize: tokenwire__v1__completion__get_packed_size(message),
            into: &buffer
        ) { tokenwire__v1__completion__pack(message, $0) }
    }

    private init(cMessage message: Tokenwire__V1__Completion) {
        let toolCalls = ToolCall.array(message.tool_calls, count: message.n_tool_calls)
        self.init(
            model: ProtobufCCodec.string(message.model),
            text: ProtobufCCodec.string(message.text),
            toolCalls: toolCalls,
            finish: message.finish.map { Finish(cMessage: $0.pointee) }
        )
    }
}
