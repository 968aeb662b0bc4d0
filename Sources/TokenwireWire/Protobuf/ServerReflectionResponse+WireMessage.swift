internal import CProtobufC
internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension ServerReflectionResponse: WireMessage {
    /// Appends the `grpc.reflection.v1.ServerReflectionResponse` encoding of the response
    /// (which is also its `grpc.reflection.v1alpha` encoding) to `buffer`.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        ProtobufCArena.with { arena in
            let message = arena.message(Grpc__Reflection__V1__ServerReflectionResponse.self) {
                grpc__reflection__v1__server_reflection_response__init($0)
            }
            message.pointee.valid_host = arena.bytes(validHost)
            message.pointee.original_request = originalRequest?.cMessage(in: &arena)

            func pack() {
                ProtobufCCodec.write(
                    packedSize: grpc__reflection__v1__server_reflection_response__get_packed_size(message),
                    into: &buffer
                ) { grpc__reflection__v1__server_reflection_response__pack(message, $0) }
            }

            switch answer {
            case .fileDescriptors(let files):
                let response = arena.message(Grpc__Reflection__V1__FileDescriptorResponse.self) {
                    grpc__reflection__v1__file_descriptor_response__init($0)
                }
                message.pointee.message_response_case =
                    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE
                message.pointee.file_descriptor_response = response
                Self.withBinaryData(files) { entries in
                    response.pointee.n_file_descriptor_proto = entries.count
                    response.pointee.file_descriptor_proto = entries.count > 0 ? entries.baseAddress : nil
                    pack()
                }
            case .allExtensionNumbers(let baseTypeName, let numbers):
                let response = arena.message(Grpc__Reflection__V1__ExtensionNumberResponse.self) {
                    grpc__reflection__v1__extension_number_response__init($0)
                }
                response.pointee.base_type_name = arena.bytes(baseTypeName)
                message.pointee.message_response_case =
                    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE
                message.pointee.all_extension_numbers_response = response
                var numbers = numbers
                numbers.withUnsafeMutableBufferPointer { numbers in
                    response.pointee.n_extension_number = numbers.count
                    response.pointee.extension_number = numbers.count > 0 ? numbers.baseAddress : nil
                    pack()
                }
            case .services(let names):
                let response = arena.message(Grpc__Reflection__V1__ListServiceResponse.self) {
                    grpc__reflection__v1__list_service_response__init($0)
                }
                response.pointee.n_service = names.count
                response.pointee.service = arena.pointerArray(
                    of: Grpc__Reflection__V1__ServiceResponse.self,
                    count: names.count
                )
                for (position, name) in names.enumerated() {
                    let element = arena.message(Grpc__Reflection__V1__ServiceResponse.self) {
                        grpc__reflection__v1__service_response__init($0)
                    }
                    element.pointee.name = arena.bytes(name)
                    response.pointee.service[position] = element
                }
                message.pointee.message_response_case =
                    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE
                message.pointee.list_services_response = response
                pack()
            case .error(let code, let text):
                let response = arena.message(Grpc__Reflection__V1__ErrorResponse.self) {
                    grpc__reflection__v1__error_response__init($0)
                }
                response.pointee.error_code = code
                response.pointee.error_message = arena.bytes(text)
                message.pointee.message_response_case =
                    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE
                message.pointee.error_response = response
                pack()
            }
        }
    }

    /// Decodes a `grpc.reflection.v1.ServerReflectionResponse` (or its v1alpha twin).
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid
    ///   `ServerReflectionResponse`, carry more elements than `ReflectionShapeLimits`
    ///   allows, or set no `message_response` this version knows (there is no answer to
    ///   give then).
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        try ReflectionShapeLimits.checkResponse(bytes)
        let response = try ProtobufCCodec.read(
            bytes,
            messageName: "grpc.reflection.v1.ServerReflectionResponse",
            direction: .response,
            unpack: { grpc__reflection__v1__server_reflection_response__unpack(nil, $0, $1) },
            free: { grpc__reflection__v1__server_reflection_response__free_unpacked($0, nil) },
            read: { ServerReflectionResponse(cMessage: $0.pointee) }
        )
        guard let response else {
            throw .invalidArgument(
                "the response is a grpc.reflection.v1.ServerReflectionResponse without an answer "
                    + "(none of file_descriptor_response, all_extension_numbers_response, "
                    + "list_services_response and error_response is set)"
            )
        }
        self = response
    }
}

extension ServerReflectionResponse {
    /// The response an unpacked protobuf-c struct carries; nil when its `message_response`
    /// oneof is unset or a field this version does not know.
    init?(cMessage message: Grpc__Reflection__V1__ServerReflectionResponse) {
        // Only the member `message_response_case` names is valid in the union. protobuf-c
        // allocates a set message field; a nil one is read as all defaults all the same.
        let answer: Answer
        switch message.message_response_case {
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE:
            var files: [[UInt8]] = []
            if let response = message.file_descriptor_response?.pointee, let entries = response.file_descriptor_proto {
                files.reserveCapacity(response.n_file_descriptor_proto)
                for position in 0..<response.n_file_descriptor_proto {
                    files.append(Self.bytes(entries[position]))
                }
            }
            answer = .fileDescriptors(files)
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE:
            let response = message.all_extension_numbers_response?.pointee
            var numbers: [Int32] = []
            if let response, let values = response.extension_number {
                numbers = Array(UnsafeBufferPointer(start: values, count: response.n_extension_number))
            }
            answer = .allExtensionNumbers(
                baseTypeName: response.map { ProtobufCCodec.string($0.base_type_name) } ?? "",
                numbers: numbers
            )
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE:
            var names: [String] = []
            if let response = message.list_services_response?.pointee, let services = response.service {
                names.reserveCapacity(response.n_service)
                for position in 0..<response.n_service {
                    guard let service = services[position] else { continue }
                    names.append(ProtobufCCodec.string(service.pointee.name))
                }
            }
            answer = .services(names)
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE:
            let response = message.error_response?.pointee
            answer = .error(
                code: response?.error_code ?? 0,
                message: response.map { ProtobufCCodec.string($0.error_message) } ?? ""
            )
        default:
            return nil
        }
        self.init(
            validHost: ProtobufCCodec.string(message.valid_host),
            originalRequest: message.original_request.map { ServerReflectionRequest(cMessage: $0.pointee) },
            answer: answer
        )
    }

    /// A copy of a protobuf-c bytes field.
    private static func bytes(_ field: ProtobufCBinaryData) -> [UInt8] {
        guard field.len > 0, let data = field.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: field.len))
    }

    /// Runs `body` with `chunks` as protobuf-c bytes fields, borrowed from one contiguous
    /// copy: valid only inside `body`, and never written through by protobuf-c.
    private static func withBinaryData<Result>(
        _ chunks: [[UInt8]],
        _ body: (UnsafeMutableBufferPointer<ProtobufCBinaryData>) -> Result
    ) -> Result {
        var joined: [UInt8] = []
        joined.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        for chunk in chunks {
            joined.append(contentsOf: chunk)
        }
        return joined.withUnsafeMutableBufferPointer { joined in
            var entries: [ProtobufCBinaryData] = []
            entries.reserveCapacity(chunks.count)
            var offset = 0
            for chunk in chunks {
                if chunk.isEmpty {
                    entries.append(ProtobufCBinaryData(len: 0, data: nil))
                } else {
                    entries.append(ProtobufCBinaryData(len: chunk.count, data: joined.baseAddress! + offset))
                }
                offset += chunk.count
            }
            return entries.withUnsafeMutableBufferPointer { body($0) }
        }
    }
}
