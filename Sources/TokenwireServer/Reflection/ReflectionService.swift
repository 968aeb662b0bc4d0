import TokenwireCore
import TokenwireWire

/// `grpc.reflection.v1.ServerReflection` and its predecessor `grpc.reflection.v1alpha`
/// (same messages, other package): what `grpcurl`, Postman and grpcio-reflection use to
/// discover the server's services and build requests without our proto files.
///
/// Each `ServerReflectionInfo` call is a bidirectional stream: every request message gets
/// one response, in order, until the client half-closes. The answers come from the
/// descriptor set `tools/generate-proto.sh` generates with the protos (committed,
/// drift-checked): a file by name or by a symbol it defines comes with every file it
/// imports, transitively, so a client can build the whole pool from one answer. Unknown
/// files and symbols get an `ErrorResponse` (NOT_FOUND) and the stream goes on.
struct ReflectionService: Sendable {
    static let paths = [
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]

    /// The served protos' descriptors; nil if they could not be read (then every call
    /// fails INTERNAL, saying so).
    let index: ProtoDescriptorIndex?
    /// The services listed: the server's, sorted.
    let services: [String]

    /// - Parameter servedPaths: the paths of every other method the server routes.
    init(servedPaths: [String], index: ProtoDescriptorIndex?) {
        self.index = index
        let names = (servedPaths + Self.paths).compactMap { path -> String? in
            let parts = path.split(separator: "/")
            return parts.count == 2 ? String(parts[0]) : nil
        }
        self.services = Set(names).sorted()
    }

    var methods: [GRPCMethod] {
        Self.paths.map { path in
            GRPCMethod.requestStream(path: path) { requests, _, writer in
                guard let index else {
                    throw TokenwireError.internal("this server's proto descriptors could not be read, so it cannot answer reflection")
                }
                for try await message in requests {
                    let request = try ServerReflectionRequest(decoding: message)
                    try await writer.write(answer(request, index: index))
                }
            }
        }
    }

    /// The response to one request.
    func answer(_ request: ServerReflectionRequest, index: ProtoDescriptorIndex) -> ServerReflectionResponse {
        func respond(_ answer: ServerReflectionResponse.Answer) -> ServerReflectionResponse {
            ServerReflectionResponse(validHost: request.host, originalRequest: request, answer: answer)
        }
        func notFound(_ message: String) -> ServerReflectionResponse {
            respond(.error(code: Int32(GRPCStatus.Code.notFound.rawValue), message: message))
        }
        switch request.query {
        case .listServices:
            return respond(.services(services))
        case .fileByFilename(let name):
            guard let files = index.files(named: name) else {
                return notFound("no file \(ErrorExcerpt.quoted(name)): this server's files are \(index.fileNames.joined(separator: ", "))")
            }
            return respond(.fileDescriptors(files))
        case .fileContainingSymbol(let symbol):
            guard let files = index.files(containingSymbol: symbol) else {
                return notFound("no symbol \(ErrorExcerpt.quoted(symbol)) in this server's protos (give a fully qualified name, such as tokenwire.v1.TokenStream)")
            }
            return respond(.fileDescriptors(files))
        case .fileContainingExtension(let type, let number):
            guard let files = index.files(containingExtension: type, number: number) else {
                return notFound("no extension \(number) of \(ErrorExcerpt.quoted(type)) in this server's protos")
            }
            return respond(.fileDescriptors(files))
        case .allExtensionNumbersOfType(let type):
            guard let numbers = index.extensionNumbers(ofType: type) else {
                return notFound("no message type \(ErrorExcerpt.quoted(type)) in this server's protos")
            }
            return respond(.allExtensionNumbers(baseTypeName: type, numbers: numbers))
        case .unset:
            return respond(.error(
                code: Int32(GRPCStatus.Code.invalidArgument.rawValue),
                message: "the request sets none of file_by_filename, file_containing_symbol, file_containing_extension, all_extension_numbers_of_type, list_services"))
        }
    }
}
