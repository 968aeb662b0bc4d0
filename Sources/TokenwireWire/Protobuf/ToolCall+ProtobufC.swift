internal import CTokenwireProto
internal import TokenwireCore

extension ToolCall {
    /// The call as a protobuf-c struct whose memory `arena` owns (in a `Completion`, or an
    /// assistant `ChatMessage`).
    func cMessage(in arena: inout ProtobufCArena) -> UnsafeMutablePointer<Tokenwire__V1__ToolCall> {
        let element = arena.message(Tokenwire__V1__ToolCall.self) { tokenwire__v1__tool_call__init($0) }
        element.pointee.id = arena.bytes(id)
        element.pointee.name = arena.bytes(name)
        element.pointee.arguments = arena.bytes(arguments)
        element.pointee.arguments_error = arena.bytes(argumentsError)
        return element
    }

    /// The call an unpacked protobuf-c struct carries.
    init(cMessage toolCall: Tokenwire__V1__ToolCall) {
        self.init(
            id: ProtobufCCodec.string(toolCall.id),
            name: ProtobufCCodec.string(toolCall.name),
            arguments: ProtobufCCodec.string(toolCall.arguments),
            argumentsError: ProtobufCCodec.string(toolCall.arguments_error)
        )
    }

    /// The calls of a repeated `ToolCall` field.
    static func array(_ pointers: UnsafeMutablePointer<UnsafeMutablePointer<Tokenwire__V1__ToolCall>?>?, count: Int) -> [ToolCall] {
        guard let pointers else { return [] }
        var calls: [ToolCall] = []
        calls.reserveCapacity(count)
        for position in 0..<count {
            guard let call = pointers[position]?.pointee else { continue }
            calls.append(ToolCall(cMessage: call))
        }
        return calls
    }
}
