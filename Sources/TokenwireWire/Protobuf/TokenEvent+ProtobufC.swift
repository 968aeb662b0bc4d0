internal import CTokenwireProto
internal import TokenwireCore

extension TokenEvent {
    /// Sets the `event` oneof of `frame` to this event and runs `body` with it.
    ///
    /// Sub-messages are stack structs and strings are borrowed, valid only inside `body`.
    @inline(__always)
    func withCEvent(
        in frame: inout Tokenwire__V1__TokenFrame,
        _ body: (inout Tokenwire__V1__TokenFrame) -> Void
    ) {
        switch self {
        case .text(let text):
            ProtobufCCodec.withBytes(text) { text in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_TEXT
                frame.text = text
                body(&frame)
            }
        case .reasoning(let reasoning):
            ProtobufCCodec.withBytes(reasoning) { reasoning in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_REASONING
                frame.reasoning = reasoning
                body(&frame)
            }
        case .start(let start):
            Self.withCStreamStart(start) { start in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_START
                frame.start = start
                body(&frame)
            }
        case .toolCall(let delta):
            Self.withCToolCallDelta(delta) { delta in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_TOOL_CALL
                frame.tool_call = delta
                body(&frame)
            }
        case .finish(let finish):
            finish.withCMessage { finish in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_FINISH
                frame.finish = finish
                body(&frame)
            }
        case .heartbeat:
            var heartbeat = Tokenwire__V1__Heartbeat()
            tokenwire__v1__heartbeat__init(&heartbeat)
            withUnsafeMutablePointer(to: &heartbeat) { heartbeat in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_HEARTBEAT
                frame.heartbeat = heartbeat
                body(&frame)
            }
        case .jsonSnapshot(let snapshot):
            ProtobufCCodec.withBytes(snapshot) { snapshot in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_JSON_SNAPSHOT
                frame.json_snapshot = snapshot
                body(&frame)
            }
        case .error(let error):
            Self.withCItemError(error) { error in
                frame.event_case = TOKENWIRE__V1__TOKEN_FRAME__EVENT_ERROR
                frame.error = error
                body(&frame)
            }
        }
    }

    /// The event an unpacked frame carries; `nil` when its `event` oneof is unset or is a
    /// case this version does not know.
    init?(cFrame frame: Tokenwire__V1__TokenFrame) {
        // Only the member `event_case` names is valid in the union.
        switch frame.event_case {
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_TEXT:
            self = .text(ProtobufCCodec.string(frame.text))
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_REASONING:
            self = .reasoning(ProtobufCCodec.string(frame.reasoning))
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_START:
            guard let start = frame.start?.pointee else { return nil }
            self = .start(
                StreamStart(
                    streamID: ProtobufCCodec.string(start.stream_id),
                    model: ProtobufCCodec.string(start.model),
                    provider: ProtobufCCodec.string(start.provider),
                    resumeToken: ProtobufCCodec.string(start.resume_token)
                )
            )
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_TOOL_CALL:
            guard let delta = frame.tool_call?.pointee else { return nil }
            self = .toolCall(
                ToolCallDelta(
                    index: delta.index,
                    id: ProtobufCCodec.string(delta.id),
                    name: ProtobufCCodec.string(delta.name),
                    arguments: ProtobufCCodec.string(delta.arguments)
                )
            )
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_FINISH:
            guard let finish = frame.finish?.pointee else { return nil }
            self = .finish(Finish(cMessage: finish))
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_HEARTBEAT:
            self = .heartbeat
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_JSON_SNAPSHOT:
            self = .jsonSnapshot(ProtobufCCodec.string(frame.json_snapshot))
        case TOKENWIRE__V1__TOKEN_FRAME__EVENT_ERROR:
            guard let error = frame.error?.pointee else { return nil }
            self = .error(ItemError(code: error.code, message: ProtobufCCodec.string(error.message)))
        default:
            return nil
        }
    }

    private static func withCStreamStart(
        _ start: StreamStart,
        _ body: (UnsafeMutablePointer<Tokenwire__V1__StreamStart>) -> Void
    ) {
        var message = Tokenwire__V1__StreamStart()
        tokenwire__v1__stream_start__init(&message)
        ProtobufCCodec.withBytes(start.streamID) { streamID in
            ProtobufCCodec.withBytes(start.model) { model in
                ProtobufCCodec.withBytes(start.provider) { provider in
                    ProtobufCCodec.withBytes(start.resumeToken) { resumeToken in
                        message.stream_id = streamID
                        message.model = model
                        message.provider = provider
                        message.resume_token = resumeToken
                        withUnsafeMutablePointer(to: &message) { body($0) }
                    }
                }
            }
        }
    }

    private static func withCToolCallDelta(
        _ delta: ToolCallDelta,
        _ body: (UnsafeMutablePointer<Tokenwire__V1__ToolCallDelta>) -> Void
    ) {
        var message = Tokenwire__V1__ToolCallDelta()
        tokenwire__v1__tool_call_delta__init(&message)
        message.index = delta.index
        ProtobufCCodec.withBytes(delta.id) { id in
            ProtobufCCodec.withBytes(delta.name) { name in
                ProtobufCCodec.withBytes(delta.arguments) { arguments in
                    message.id = id
                    message.name = name
                    message.arguments = arguments
                    withUnsafeMutablePointer(to: &message) { body($0) }
                }
            }
        }
    }

    private static func withCItemError(
        _ error: ItemError,
        _ body: (UnsafeMutablePointer<Tokenwire__V1__ItemError>) -> Void
    ) {
        var message = Tokenwire__V1__ItemError()
        tokenwire__v1__item_error__init(&message)
        message.code = error.code
        ProtobufCCodec.withBytes(error.message) { text in
            message.message = text
            withUnsafeMutablePointer(to: &message) { body($0) }
        }
    }
}
