/// `grpc.reflection.v1.ServerReflectionRequest` (and its wire-identical
/// `grpc.reflection.v1alpha` twin): one question a client asks on a `ServerReflectionInfo`
/// stream.
///
/// See https://github.com/grpc/grpc/blob/master/doc/server-reflection.md.
public struct ServerReflectionRequest: Sendable, Hashable {
    /// What the client asks: the `message_request` oneof.
    public enum Query: Sendable, Hashable {
        /// `file_by_filename`: the file with this name (such as
        /// `tokenwire/v1/tokenwire.proto`) and its dependencies.
        case fileByFilename(String)
        /// `file_containing_symbol`: the file that declares this fully qualified symbol
        /// (`<package>.<service>[.<method>]` or `<package>.<type>`) and its dependencies.
        case fileContainingSymbol(String)
        /// `file_containing_extension`: the file that declares the extension of
        /// `containingType` (a fully qualified message name) with field number `number`.
        case fileContainingExtension(containingType: String, number: Int32)
        /// `all_extension_numbers_of_type`: the field numbers of every known extension of
        /// this fully qualified message type.
        case allExtensionNumbersOfType(String)
        /// `list_services`: the names of the served services. The string is not checked
        /// (clients commonly send `""` or `"*"`).
        case listServices(String)
        /// No field of the oneof is set (or one this version does not know).
        case unset
    }

    /// `host`: the host the request is about; servers answer for every host.
    public var host: String
    /// The question.
    public var query: Query

    /// A reflection request.
    /// - Parameters:
    ///   - host: The host the request is about; usually empty.
    ///   - query: The question.
    public init(host: String = "", query: Query) {
        self.host = host
        self.query = query
    }
}

/// `grpc.reflection.v1.ServerReflectionResponse` (and its wire-identical
/// `grpc.reflection.v1alpha` twin): the answer to one `ServerReflectionRequest`.
public struct ServerReflectionResponse: Sendable, Hashable {
    /// What the server answers: the `message_response` oneof.
    public enum Answer: Sendable, Hashable {
        /// `file_descriptor_response`: `FileDescriptorResponse.file_descriptor_proto`, each
        /// a serialized `google.protobuf.FileDescriptorProto` (the file asked for first,
        /// then its dependencies), for `fileByFilename`, `fileContainingSymbol` and
        /// `fileContainingExtension`.
        case fileDescriptors([[UInt8]])
        /// `all_extension_numbers_response` (`ExtensionNumberResponse`): the extension
        /// field numbers of the fully qualified message `baseTypeName`.
        case allExtensionNumbers(baseTypeName: String, numbers: [Int32])
        /// `list_services_response` (`ListServiceResponse`): the fully qualified names of
        /// the served services.
        case services([String])
        /// `error_response` (`ErrorResponse`): a gRPC status code (as `GRPCStatus.Code`'s
        /// raw values) and a message, such as `NOT_FOUND` (5) for an unknown symbol.
        case error(code: Int32, message: String)
    }

    /// `valid_host`: the host the answer is for.
    public var validHost: String
    /// `original_request`: the request this answers, echoed back; nil when absent.
    public var originalRequest: ServerReflectionRequest?
    /// The answer.
    public var answer: Answer

    /// A reflection response.
    /// - Parameters:
    ///   - validHost: The host the answer is for; usually empty.
    ///   - originalRequest: The request this answers, or nil not to echo it.
    ///   - answer: The answer.
    public init(validHost: String = "", originalRequest: ServerReflectionRequest?, answer: Answer) {
        self.validHost = validHost
        self.originalRequest = originalRequest
        self.answer = answer
    }
}
