public import NIOCore
public import TokenwireCore

/// Bounds on how many elements a server reflection response may carry, checked on the wire
/// bytes before protobuf-c unpacks them (as `RequestShapeLimits` does for requests).
///
/// protobuf-c allocates a struct and a pointer for every listed service, and a 16-byte
/// entry for every file, and the Swift values cost more again: an empty entry is 2 bytes on
/// the wire. Counting first bounds the cost of a response by its size. Requests need no
/// such check: `ServerReflectionRequest` has no repeated field.
///
/// Every limit is far above what a real server answers (Tokenwire's own descriptor set has
/// a handful of files and services).
public enum ReflectionShapeLimits {
    /// The most serialized `FileDescriptorProto`s one `FileDescriptorResponse` may carry.
    public static let maxFileDescriptors = 10_000
    /// The most services one `ListServiceResponse` may name.
    public static let maxServices = 10_000
    /// The most extension numbers one `ExtensionNumberResponse` may carry.
    public static let maxExtensionNumbers = 100_000

    /// - Throws: `.invalidArgument` naming the count and the limit when a
    ///   `grpc.reflection.v1.ServerReflectionResponse` carries too many files, services or
    ///   extension numbers. Malformed bytes pass: protobuf-c reports them.
    public static func checkResponse(_ bytes: ByteBuffer) throws(TokenwireError) {
        var files = 0
        var services = 0
        var numbers = 0
        bytes.withUnsafeReadableBytes { raw in
            // A message field sent more than once is merged, so every occurrence counts.
            ProtobufWireScanner.forEachField(in: raw) { field, wireType, payload in
                guard wireType == 2 else { return }
                switch field {
                case 4:  // file_descriptor_response: FileDescriptorResponse
                    ProtobufWireScanner.forEachField(in: payload) { inner, _, _ in
                        if inner == 1 { files += 1 }
                    }
                case 5:  // all_extension_numbers_response: ExtensionNumberResponse
                    ProtobufWireScanner.forEachField(in: payload) { inner, innerWireType, value in
                        guard inner == 2 else { return }
                        if innerWireType == 2 {
                            // Packed: one varint ends at every byte below 0x80.
                            numbers += value.reduce(0) { $0 + ($1 < 0x80 ? 1 : 0) }
                        } else {
                            numbers += 1
                        }
                    }
                case 6:  // list_services_response: ListServiceResponse
                    ProtobufWireScanner.forEachField(in: payload) { inner, _, _ in
                        if inner == 1 { services += 1 }
                    }
                default:
                    break
                }
            }
        }
        if files > maxFileDescriptors {
            throw .invalidArgument(
                "the reflection response carries \(files) file descriptors; at most \(maxFileDescriptors) are accepted")
        }
        if services > maxServices {
            throw .invalidArgument("the reflection response names \(services) services; at most \(maxServices) are accepted")
        }
        if numbers > maxExtensionNumbers {
            throw .invalidArgument(
                "the reflection response carries \(numbers) extension numbers; at most \(maxExtensionNumbers) are accepted")
        }
    }
}
