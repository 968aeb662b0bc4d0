internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension GenerateRequest: WireMessage {
    /// Appends the `tokenwire.v1.GenerateRequest` encoding of the request to `buffer`.
    ///
    /// Metadata entries are written in key order, so equal requests encode to equal bytes.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        ProtobufCArena.with { arena in
            let message = cMessage(in: &arena)
            ProtobufCCodec.write(
                packedSize: tokenwire__v1__generate_request__get_packed_size(message),
                into: &buffer
            ) { tokenwire__v1__generate_request__pack(message, $0) }
        }
    }

    /// Decodes a `tokenwire.v1.GenerateRequest`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `GenerateRequest`, or
    ///   carry more elements than `RequestShapeLimits` allows.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        try RequestShapeLimits.checkGenerateRequest(bytes)
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "tokenwire.v1.GenerateRequest",
            direction: .request,
            unpack: { tokenwire__v1__generate_request__unpack(nil, $0, $1) },
            free: { tokenwire__v1__generate_request__free_unpacked($0, nil) },
            read: { GenerateRequest(cMessage: $0.pointee) }
        )
    }
}

extension GenerateRequest {
    /// The request as a protobuf-c struct whose memory `arena` owns.
    func cMessage(in arena: inout ProtobufCArena) -> UnsafeMutablePointer<Tokenwire__V1__GenerateRequest> {
        let message = arena.message(Tokenwire__V1__GenerateRequest.self) { tokenwire__v1__generate_request__init($0) }
        message.pointee.model = arena.bytes(model)
        message.pointee.n_messages = messages.count
        message.pointee.messages = arena.pointerArray(of: Tokenwire__V1__ChatMessage.self, count: messages.count)
        for (position, chatMessage) in messages.enumerated() {
            let element = arena.message(Tokenwire__V1__ChatMessage.self) { tokenwire__v1__chat_message__init($0) }
            element.pointee.role = arena.bytes(chatMessage.role)
            element.pointee.content = arena.bytes(chatMessage.content)
            element.pointee.tool_call_id = arena.bytes(chatMessage.toolCallID)
            element.pointee.n_tool_calls = chatMessage.toolCalls.count
            element.pointee.tool_calls = arena.pointerArray(of: Tokenwire__V1__ToolCall.self, count: chatMessage.toolCalls.count)
            for (index, call) in chatMessage.toolCalls.enumerated() { element.pointee.tool_calls[index] = call.cMessage(in: &arena) }
            message.pointee.messages[position] = element
        }
        message.pointee.max_tokens = maxTokens
        if let temperature {
            message.pointee.sampling_case = TOKENWIRE__V1__GENERATE_REQUEST__SAMPLING_TEMPERATURE
            message.pointee.temperature = temperature
        }
        message.pointee.resume_token = arena.bytes(resumeToken)
        message.pointee.resume_after_seq = resumeAfterSeq
        message.pointee.n_metadata = metadata.count
        message.pointee.metadata = arena.pointerArray(
            of: Tokenwire__V1__GenerateRequest__MetadataEntry.self,
            count: metadata.count
        )
        for (position, entry) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
            let element = arena.message(Tokenwire__V1__GenerateRequest__MetadataEntry.self) {
                tokenwire__v1__generate_request__metadata_entry__init($0)
            }
            element.pointee.key = arena.bytes(entry.key)
            element.pointee.value = arena.bytes(entry.value)
            message.pointee.metadata[position] = element
        }
        message.pointee.n_tools = tools.count
        message.pointee.tools = arena.pointerArray(of: Tokenwire__V1__Tool.self, count: tools.count)
        for (position, tool) in tools.enumerated() {
            let element = arena.message(Tokenwire__V1__Tool.self) { tokenwire__v1__tool__init($0) }
            element.pointee.name = arena.bytes(tool.name)
            element.pointee.description = arena.bytes(tool.description)
            element.pointee.parameters = arena.bytes(tool.parameters)
            message.pointee.tools[position] = element
        }
        message.pointee.tool_choice = arena.bytes(toolChoice)
        if let format = responseFormat {
            let element = arena.message(Tokenwire__V1__ResponseFormat.self) { tokenwire__v1__response_format__init($0) }
            element.pointee.type = Tokenwire__V1__ResponseFormat__Type(rawValue: UInt32(bitPattern: format.kind.rawValue))
            element.pointee.schema = arena.bytes(format.schema)
            element.pointee.schema_name = arena.bytes(format.schemaName)
            element.pointee.delivery = Tokenwire__V1__ResponseFormat__Delivery(rawValue: UInt32(bitPattern: format.delivery.rawValue))
            message.pointee.response_format = element
        }
        return message
    }

    /// The request an unpacked protobuf-c struct carries.
    init(cMessage message: Tokenwire__V1__GenerateRequest) {
        var messages: [ChatMessage] = []
        messages.reserveCapacity(message.n_messages)
        for position in 0..<message.n_messages {
            guard let element = message.messages[position] else { continue }
            messages.append(
                ChatMessage(
                    role: ProtobufCCodec.string(element.pointee.role),
                    content: ProtobufCCodec.string(element.pointee.content),
                    toolCallID: ProtobufCCodec.string(element.pointee.tool_call_id),
                    toolCalls: ToolCall.array(element.pointee.tool_calls, count: element.pointee.n_tool_calls)
                )
            )
        }
        var metadata: [String: String] = [:]
        metadata.reserveCapacity(message.n_metadata)
        for position in 0..<message.n_metadata {
            guard let entry = message.metadata[position] else { continue }
            // A key sent twice keeps its last value, as protobuf map semantics require.
            metadata[ProtobufCCodec.string(entry.pointee.key)] = ProtobufCCodec.string(entry.pointee.value)
        }
        var tools: [ToolDefinition] = []
        tools.reserveCapacity(message.n_tools)
        for position in 0..<message.n_tools {
            guard let tool = message.tools[position]?.pointee else { continue }
            tools.append(
                ToolDefinition(
                    name: ProtobufCCodec.string(tool.name), description: ProtobufCCodec.string(tool.description),
                    parameters: ProtobufCCodec.string(tool.parameters)))
        }
        self.init(
            model: ProtobufCCodec.string(message.model),
            messages: messages,
            maxTokens: message.max_tokens,
            temperature: message.sampling_case == TOKENWIRE__V1__GENERATE_REQUEST__SAMPLING_TEMPERATURE ? message.temperature : nil,
            resumeToken: ProtobufCCodec.string(message.resume_token),
            resumeAfterSeq: message.resume_after_seq,
            metadata: metadata,
            responseFormat: message.response_format.map { format in
                ResponseFormat(
                    kind: ResponseFormat.Kind(rawValue: Int32(bitPattern: format.pointee.type.rawValue)),
                    schema: ProtobufCCodec.string(format.pointee.schema),
                    schemaName: ProtobufCCodec.string(format.pointee.schema_name),
                    delivery: ResponseFormat.Delivery(rawValue: Int32(bitPattern: format.pointee.delivery.rawValue)))
            },
            tools: tools,
            toolChoice: ProtobufCCodec.string(message.tool_choice)
        )
    }
}
