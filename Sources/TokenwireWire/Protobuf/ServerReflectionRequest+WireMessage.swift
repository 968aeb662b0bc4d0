internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

// grpc.reflection.v1 and grpc.reflection.v1alpha are wire-identical (same messages, same
// field numbers), so the v1 protobuf-c types encode and decode both.

extension ServerReflectionRequest: WireMessage {
    /// Appends the `grpc.reflection.v1.ServerReflectionRequest` encoding of the request
    /// (which is also its `grpc.reflection.v1alpha` encoding) to `buffer`.
    ///
    /// A set `query` is written even when its string is empty, as the oneof requires:
    /// `listServices("")` is a question, `.unset` is none.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        ProtobufCArena.with { arena in
            let message = cMessage(in: &arena)
            ProtobufCCodec.write(
                packedSize: grpc__reflection__v1__server_reflection_request__get_packed_size(message),
                into: &buffer
            ) { grpc__reflection__v1__server_reflection_request__pack(message, $0) }
        }
    }

    /// Decodes a `grpc.reflection.v1.ServerReflectionRequest` (or its v1alpha twin). A
    /// `message_request` field this version does not know reads as `.unset`.
    ///
    /// The message has no repeated field, so its cost is bounded by its size.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `ServerReflectionRequest`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "grpc.reflection.v1.ServerReflectionRequest",
            direction: .request,
            unpack: { grpc__reflection__v1__server_reflection_request__unpack(nil, $0, $1) },
            free: { grpc__reflection__v1__server_reflection_request__free_unpacked($0, nil) },
            read: { ServerReflectionRequest(cMessage: $0.pointee) }
        )
    }
}

extension ServerReflectionRequest {
    /// The request as a protobuf-c struct whose memory `arena` owns (also the
    /// `original_request` of a response).
    func cMessage(
        in arena: inout ProtobufCArena
    ) -> UnsafeMutablePointer<Grpc__Reflection__V1__ServerReflectionRequest> {
        let message = arena.message(Grpc__Reflection__V1__ServerReflectionRequest.self) {
            grpc__reflection__v1__server_reflection_request__init($0)
        }
        message.pointee.host = arena.bytes(host)
        switch query {
        case .fileByFilename(let filename):
            message.pointee.message_request_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME
            message.pointee.file_by_filename = arena.bytes(filename)
        case .fileContainingSymbol(let symbol):
            message.pointee.message_request_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL
            message.pointee.file_containing_symbol = arena.bytes(symbol)
        case .fileContainingExtension(let containingType, let number):
            let extensionRequest = arena.message(Grpc__Reflection__V1__ExtensionRequest.self) {
                grpc__reflection__v1__extension_request__init($0)
            }
            extensionRequest.pointee.containing_type = arena.bytes(containingType)
            extensionRequest.pointee.extension_number = number
            message.pointee.message_request_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION
            message.pointee.file_containing_extension = extensionRequest
        case .allExtensionNumbersOfType(let type):
            message.pointee.message_request_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE
            message.pointee.all_extension_numbers_of_type = arena.bytes(type)
        case .listServices(let pattern):
            message.pointee.message_request_case =
                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES
            message.pointee.list_services = arena.bytes(pattern)
        case .unset:
            break
        }
        return message
    }

    /// The request an unpacked protobuf-c struct carries.
    init(cMessage message: Grpc__Reflection__V1__ServerReflectionRequest) {
        // Only the member `message_request_case` names is valid in the union.
        let query: Query
        switch message.message_request_case {
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
            query = .fileByFilename(ProtobufCCodec.string(message.file_by_filename))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
            query = .fileContainingSymbol(ProtobufCCodec.string(message.file_containing_symbol))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
            // protobuf-c allocates a set message field; an empty one is all defaults.
            let extensionRequest = message.file_containing_extension?.pointee
            query = .fileContainingExtension(
                containingType: extensionRequest.map { ProtobufCCodec.string($0.containing_type) } ?? "",
                number: extensionRequest?.extension_number ?? 0
            )
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
            query = .allExtensionNumbersOfType(ProtobufCCodec.string(message.all_extension_numbers_of_type))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
            query = .listServices(ProtobufCCodec.string(message.list_services))
        default:
            query = .unset
        }
        self.init(host: ProtobufCCodec.string(message.host), query: query)
    }
}
