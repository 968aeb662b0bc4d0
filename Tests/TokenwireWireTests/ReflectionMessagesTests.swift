import Foundation
import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The gRPC server reflection messages: round trips, hostile bytes, and agreement with
/// Python's protobuf (grpcio-reflection's v1alpha classes, and v1 classes built from
/// `ServedDescriptors.fileDescriptorSet`).
@Suite("Server reflection messages")
struct ReflectionMessagesTests {
    static let requests: [ServerReflectionRequest] = [
        ServerReflectionRequest(query: .listServices("")),
        ServerReflectionRequest(query: .listServices("*")),
        ServerReflectionRequest(host: "localhost:50051", query: .fileByFilename("tokenwire/v1/tokenwire.proto")),
        ServerReflectionRequest(query: .fileByFilename("")),
        ServerReflectionRequest(query: .fileContainingSymbol("tokenwire.v1.TokenStream.Generate")),
        ServerReflectionRequest(query: .fileContainingExtension(containingType: "pkg.Base", number: 150)),
        ServerReflectionRequest(query: .fileContainingExtension(containingType: "", number: 0)),
        ServerReflectionRequest(query: .fileContainingExtension(containingType: "pkg.Base", number: -1)),
        ServerReflectionRequest(query: .allExtensionNumbersOfType("google.protobuf.MethodOptions")),
        ServerReflectionRequest(host: "h\u{0}st ☺ 😈", query: .fileContainingSymbol("Ünï\u{0}cödé")),
        ServerReflectionRequest(query: .unset),
        ServerReflectionRequest(host: "only a host", query: .unset),
    ]

    static let responses: [ServerReflectionResponse] = [
        ServerReflectionResponse(
            originalRequest: ServerReflectionRequest(query: .listServices("")),
            answer: .services(["grpc.health.v1.Health", "tokenwire.v1.TokenStream"])
        ),
        ServerReflectionResponse(originalRequest: nil, answer: .services([])),
        ServerReflectionResponse(originalRequest: nil, answer: .services(["", "a\u{0}b"])),
        ServerReflectionResponse(
            validHost: "localhost",
            originalRequest: ServerReflectionRequest(query: .fileByFilename("tokenwire/v1/tokenwire.proto")),
            answer: .fileDescriptors([Array(ServedDescriptors.fileDescriptorSet.prefix(40)), [0, 1, 2, 0xff], [], [0]])
        ),
        ServerReflectionResponse(originalRequest: nil, answer: .fileDescriptors([])),
        ServerReflectionResponse(originalRequest: nil, answer: .fileDescriptors([[]])),
        ServerReflectionResponse(
            originalRequest: ServerReflectionRequest(query: .allExtensionNumbersOfType("pkg.Base")),
            answer: .allExtensionNumbers(baseTypeName: "pkg.Base", numbers: [100, 150, 536_870_911, -1, 0])
        ),
        ServerReflectionResponse(originalRequest: nil, answer: .allExtensionNumbers(baseTypeName: "", numbers: [])),
        ServerReflectionResponse(
            originalRequest: ServerReflectionRequest(
                host: "x", query: .fileContainingExtension(containingType: "pkg.Base", number: 7)),
            answer: .error(code: 5, message: "unknown symbol 'pkg.Nope' ☺")
        ),
        ServerReflectionResponse(originalRequest: ServerReflectionRequest(query: .unset), answer: .error(code: 0, message: "")),
        ServerReflectionResponse(originalRequest: nil, answer: .error(code: -3, message: "negative")),
    ]

    // MARK: Round trips

    @Test("ServerReflectionRequest round-trips", arguments: requests)
    func requestRoundTrips(request: ServerReflectionRequest) throws {
        #expect(try ServerReflectionRequest(decoding: encoded(request)) == request)
    }

    @Test("ServerReflectionResponse round-trips", arguments: responses)
    func responseRoundTrips(response: ServerReflectionResponse) throws {
        #expect(try ServerReflectionResponse(decoding: encoded(response)) == response)
    }

    @Test func largeFileDescriptorsRoundTrip() throws {
        let set = ServedDescriptors.fileDescriptorSet
        let response = ServerReflectionResponse(
            originalRequest: ServerReflectionRequest(query: .fileContainingSymbol("tokenwire.v1.TokenStream")),
            answer: .fileDescriptors([set, Array(set.reversed()), Array(repeating: 0, count: 70_000)])
        )
        #expect(try ServerReflectionResponse(decoding: encoded(response)) == response)
    }

    @Test func aSetQueryIsWrittenEvenWhenItsStringIsEmpty() {
        // list_services (field 7), length 0: the usual first question of a client.
        #expect(encoded(ServerReflectionRequest(query: .listServices(""))).hexString == "3a00")
        // file_containing_extension (field 5) with every field at its default.
        #expect(
            encoded(ServerReflectionRequest(query: .fileContainingExtension(containingType: "", number: 0))).hexString
                == "2a00")
        #expect(encoded(ServerReflectionRequest(query: .unset)).hexString == "")
        // list_services_response (field 6) with no services.
        #expect(encoded(ServerReflectionResponse(originalRequest: nil, answer: .services([]))).hexString == "3200")
    }

    @Test func knownEncodingsDecode() throws {
        // host "h", file_by_filename "f".
        #expect(
            try ServerReflectionRequest(decoding: ByteBuffer(hex: "0a0168 1a0166"))
                == ServerReflectionRequest(host: "h", query: .fileByFilename("f")))
        // error_response { error_code: 5, error_message: "x" }.
        #expect(
            try ServerReflectionResponse(decoding: ByteBuffer(hex: "3a05 0805 120178"))
                == ServerReflectionResponse(originalRequest: nil, answer: .error(code: 5, message: "x")))
        // The last of several oneof fields wins, as in every protobuf implementation.
        #expect(
            try ServerReflectionRequest(decoding: ByteBuffer(hex: "1a0166 220173"))
                == ServerReflectionRequest(query: .fileContainingSymbol("s")))
    }

    @Test func aRequestWithAnUnknownQueryReadsAsUnset() throws {
        // Field 8, a string: a query a later version of the proto might add.
        #expect(
            try ServerReflectionRequest(decoding: ByteBuffer(hex: "0a0168 42027171"))
                == ServerReflectionRequest(host: "h", query: .unset))
    }

    // MARK: Hostile bytes

    @Test func aResponseWithoutAnAnswerIsRejected() {
        for hex in ["", "0a0168", "12023a00", "42027171"] {
            #expect(throws: TokenwireError.self, "\(hex)") { try ServerReflectionResponse(decoding: ByteBuffer(hex: hex)) }
        }
    }

    @Test func garbageIsRejectedAsInvalidArgument() {
        for hex in ["0a05 61", "0f", "08ff", "ffffffffffffffffffffff", "2a03 0a0561", "3205 0a0a", "2203 0a02"] {
            let bytes = ByteBuffer(hex: hex)
            #expect(throws: TokenwireError.self, "\(hex)") { try ServerReflectionRequest(decoding: bytes) }
            #expect(throws: TokenwireError.self, "\(hex)") { try ServerReflectionResponse(decoding: bytes) }
            do {
                _ = try ServerReflectionResponse(decoding: bytes)
            } catch {
                #expect(error.code == .invalidArgument)
            }
        }
    }

    @Test func everyTruncationOfAResponseThrowsOrDecodesWithoutTrapping() throws {
        let response = ServerReflectionResponse(
            validHost: "h",
            originalRequest: ServerReflectionRequest(
                host: "x", query: .fileContainingExtension(containingType: "pkg.Base", number: 7)),
            answer: .fileDescriptors([[1, 2, 3], Array(ServedDescriptors.fileDescriptorSet.prefix(300))])
        )
        let whole = encoded(response)
        var rejected = 0
        for length in 0..<whole.readableBytes {
            let prefix = whole.getSlice(at: 0, length: length)!
            if (try? ServerReflectionResponse(decoding: prefix)) == nil { rejected += 1 }
        }
        // Most cuts land inside a length-delimited field; none traps.
        #expect(rejected > whole.readableBytes / 2)
        #expect(try ServerReflectionResponse(decoding: whole) == response)

        let request = encoded(ServerReflectionRequest(
            host: "x", query: .fileContainingExtension(containingType: "pkg.Base", number: -7)))
        for length in 0..<request.readableBytes {
            _ = try? ServerReflectionRequest(decoding: request.getSlice(at: 0, length: length)!)
        }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 0x7e57_0f_2ef1)
        for _ in 0..<2_000 {
            let count = Int(generator.next() % 64)
            var bytes: [UInt8] = []
            for _ in 0..<count {
                // Mostly small field keys and lengths, so some messages get deep.
                let byte = UInt8(truncatingIfNeeded: generator.next())
                bytes.append(generator.next() % 3 == 0 ? byte : byte & 0x3f)
            }
            _ = try? ServerReflectionRequest(decoding: ByteBuffer(bytes: bytes))
            _ = try? ServerReflectionResponse(decoding: ByteBuffer(bytes: bytes))
        }
    }

    @Test func responsesOverTheShapeLimitsAreRejectedBeforeUnpacking() throws {
        func listServices(_ count: Int) -> ByteBuffer {
            var payload = ByteBuffer()
            for _ in 0..<count { payload.writeBytes([0x0a, 0x00]) }  // ServiceResponse {}
            return message(field: 6, payload)
        }
        func fileDescriptors(_ count: Int) -> ByteBuffer {
            var payload = ByteBuffer()
            for _ in 0..<count { payload.writeBytes([0x0a, 0x00]) }  // an empty file_descriptor_proto
            return message(field: 4, payload)
        }
        func extensionNumbers(_ count: Int, packed: Bool) -> ByteBuffer {
            var payload = ByteBuffer()
            if packed {
                payload.writeBytes([0x12] + varint(UInt64(count)) + Array(repeating: 0x01, count: count))
            } else {
                for _ in 0..<count { payload.writeBytes([0x10, 0x01]) }
            }
            return message(field: 5, payload)
        }

        let services = try ServerReflectionResponse(decoding: listServices(ReflectionShapeLimits.maxServices))
        #expect(services.answer == .services(Array(repeating: "", count: ReflectionShapeLimits.maxServices)))
        #expect(throws: TokenwireError.invalidArgument(
            "the reflection response names 10001 services; at most 10000 are accepted"
        )) {
            try ServerReflectionResponse(decoding: listServices(ReflectionShapeLimits.maxServices + 1))
        }

        _ = try ServerReflectionResponse(decoding: fileDescriptors(ReflectionShapeLimits.maxFileDescriptors))
        #expect(throws: TokenwireError.self) {
            try ServerReflectionResponse(decoding: fileDescriptors(ReflectionShapeLimits.maxFileDescriptors + 1))
        }
        // Split over two occurrences of the field (which protobuf merges) counts all the same.
        var split = fileDescriptors(ReflectionShapeLimits.maxFileDescriptors)
        var second = fileDescriptors(1)
        split.writeBuffer(&second)
        #expect(throws: TokenwireError.self) { try ServerReflectionResponse(decoding: split) }

        for packed in [true, false] {
            let numbers = try ServerReflectionResponse(
                decoding: extensionNumbers(ReflectionShapeLimits.maxExtensionNumbers, packed: packed))
            guard case .allExtensionNumbers(_, let values) = numbers.answer else {
                Issue.record("not an extension number response: \(numbers)")
                continue
            }
            #expect(values.count == ReflectionShapeLimits.maxExtensionNumbers)
            #expect(throws: TokenwireError.self) {
                try ServerReflectionResponse(
                    decoding: extensionNumbers(ReflectionShapeLimits.maxExtensionNumbers + 1, packed: packed))
            }
        }
    }

    // MARK: Python's protobuf

    /// Our encodings, decoded by Python (v1alpha from grpcio-reflection, v1 from our own
    /// descriptor set), described the same way on both sides, and re-encoded by Python
    /// byte for byte as we encoded them; then Python's encodings decode to the same values.
    @Test func pythonProtobufAgreesWithOurEncodings() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tokenwire-reflection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var records: [UInt8] = []
        for request in Self.requests {
            records += record(kind: "q", encoded(request))
        }
        for response in Self.responses {
            records += record(kind: "r", encoded(response))
        }
        let input = directory.appendingPathComponent("messages.bin")
        let descriptors = directory.appendingPathComponent("descriptors.bin")
        let output = directory.appendingPathComponent("out.txt")
        try Data(records).write(to: input)
        try Data(ServedDescriptors.fileDescriptorSet).write(to: descriptors)

        let status = try runPython(Self.pythonScript, [input.path, descriptors.path, output.path])
        try #require(status == 0, "python3 failed (its stderr is above)")
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast()
        try #require(lines.count == Self.requests.count + Self.responses.count)

        for (request, line) in zip(Self.requests, lines) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 3, "\(line)")
            #expect(String(fields[0]) == describe(request))
            #expect(String(fields[1]) == encoded(request).hexString, "Python re-encodes \(request) differently")
            #expect(try ServerReflectionRequest(decoding: ByteBuffer(hex: String(fields[2]))) == request)
        }
        for (response, line) in zip(Self.responses, lines.dropFirst(Self.requests.count)) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 3, "\(line)")
            #expect(String(fields[0]) == describe(response))
            #expect(String(fields[1]) == encoded(response).hexString, "Python re-encodes \(response) differently")
            #expect(try ServerReflectionResponse(decoding: ByteBuffer(hex: String(fields[2]))) == response)
        }
    }

    /// Reads records (a kind byte, `q` or `r`, a 4-byte big-endian length, the message) and
    /// writes one line per record: the description (as `describe` below), Python's v1alpha
    /// re-encoding, and an encoding Python builds field by field from the v1 message.
    static let pythonScript = #"""
        import sys
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        from grpc_reflection.v1alpha import reflection_pb2 as alpha

        messages_path, descriptors_path, out_path = sys.argv[1:4]
        fds = descriptor_pb2.FileDescriptorSet.FromString(open(descriptors_path, "rb").read())
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        V1Request = message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest"))
        V1Response = message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse"))

        def hx(value):
            return (value.encode("utf-8") if isinstance(value, str) else bytes(value)).hex()

        def describe_request(m):
            case = m.WhichOneof("message_request")
            if case is None:
                value = "-"
            elif case == "file_containing_extension":
                e = m.file_containing_extension
                value = hx(e.containing_type) + "," + str(e.extension_number)
            else:
                value = hx(getattr(m, case))
            return f"host={hx(m.host)} {case or 'unset'}={value}"

        def describe_response(m):
            original = describe_request(m.original_request) if m.HasField("original_request") else "none"
            case = m.WhichOneof("message_response")
            if case == "file_descriptor_response":
                files = m.file_descriptor_response.file_descriptor_proto
                value = f"{len(files)}:" + ",".join(hx(f) for f in files)
            elif case == "all_extension_numbers_response":
                r = m.all_extension_numbers_response
                value = hx(r.base_type_name) + f":{len(r.extension_number)}:" + ",".join(str(n) for n in r.extension_number)
            elif case == "list_services_response":
                services = m.list_services_response.service
                value = f"{len(services)}:" + ",".join(hx(s.name) for s in services)
            elif case == "error_response":
                value = f"{m.error_response.error_code}:{hx(m.error_response.error_message)}"
            else:
                value = "-"
            return f"valid_host={hx(m.valid_host)} original=[{original}] {case or 'unset'}={value}"

        def copy_request(source, target):
            target.host = source.host
            case = source.WhichOneof("message_request")
            if case == "file_containing_extension":
                target.file_containing_extension.SetInParent()
                target.file_containing_extension.containing_type = source.file_containing_extension.containing_type
                target.file_containing_extension.extension_number = source.file_containing_extension.extension_number
            elif case is not None:
                setattr(target, case, getattr(source, case))

        def rebuilt_response(source):
            target = alpha.ServerReflectionResponse(valid_host=source.valid_host)
            if source.HasField("original_request"):
                target.original_request.SetInParent()
                copy_request(source.original_request, target.original_request)
            case = source.WhichOneof("message_response")
            if case == "file_descriptor_response":
                target.file_descriptor_response.SetInParent()
                target.file_descriptor_response.file_descriptor_proto.extend(source.file_descriptor_response.file_descriptor_proto)
            elif case == "all_extension_numbers_response":
                r = source.all_extension_numbers_response
                target.all_extension_numbers_response.SetInParent()
                target.all_extension_numbers_response.base_type_name = r.base_type_name
                target.all_extension_numbers_response.extension_number.extend(r.extension_number)
            elif case == "list_services_response":
                target.list_services_response.SetInParent()
                for s in source.list_services_response.service:
                    target.list_services_response.service.add(name=s.name)
            elif case == "error_response":
                target.error_response.SetInParent()
                target.error_response.error_code = source.error_response.error_code
                target.error_response.error_message = source.error_response.error_message
            return target

        data = open(messages_path, "rb").read()
        lines = []
        position = 0
        while position < len(data):
            kind = chr(data[position])
            length = int.from_bytes(data[position + 1:position + 5], "big")
            body = data[position + 5:position + 5 + length]
            position += 5 + length
            if kind == "q":
                a, v1 = alpha.ServerReflectionRequest.FromString(body), V1Request.FromString(body)
                description = describe_request(a)
                assert describe_request(v1) == description, (describe_request(v1), description)
                rebuilt = alpha.ServerReflectionRequest()
                copy_request(v1, rebuilt)
            else:
                a, v1 = alpha.ServerReflectionResponse.FromString(body), V1Response.FromString(body)
                description = describe_response(a)
                assert describe_response(v1) == description, (describe_response(v1), description)
                rebuilt = rebuilt_response(v1)
            assert v1.SerializeToString() == a.SerializeToString()
            lines.append(f"{description}\t{a.SerializeToString().hex()}\t{rebuilt.SerializeToString().hex()}\n")

        with open(out_path, "w") as out:
            out.writelines(lines)
        """#

    // MARK: Helpers

    private func encoded(_ message: some WireMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return buffer
    }

    private func record(kind: Character, _ buffer: ByteBuffer) -> [UInt8] {
        let length = UInt32(buffer.readableBytes)
        return [kind.asciiValue!] + withUnsafeBytes(of: length.bigEndian, Array.init) + Array(buffer.readableBytesView)
    }

    private func message(field: UInt64, _ payload: ByteBuffer) -> ByteBuffer {
        ByteBuffer(bytes: varint(field << 3 | 2) + varint(UInt64(payload.readableBytes)) + Array(payload.readableBytesView))
    }

    private func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    private func hex(_ string: String) -> String { hex(Array(string.utf8)) }

    private func hex(_ bytes: [UInt8]) -> String { ByteBuffer(bytes: bytes).hexString }

    /// The Python script's `describe_request`.
    private func describe(_ request: ServerReflectionRequest) -> String {
        let query: String
        switch request.query {
        case .fileByFilename(let name): query = "file_by_filename=\(hex(name))"
        case .fileContainingSymbol(let symbol): query = "file_containing_symbol=\(hex(symbol))"
        case .fileContainingExtension(let type, let number): query = "file_containing_extension=\(hex(type)),\(number)"
        case .allExtensionNumbersOfType(let type): query = "all_extension_numbers_of_type=\(hex(type))"
        case .listServices(let pattern): query = "list_services=\(hex(pattern))"
        case .unset: query = "unset=-"
        }
        return "host=\(hex(request.host)) \(query)"
    }

    /// The Python script's `describe_response`.
    private func describe(_ response: ServerReflectionResponse) -> String {
        let original = response.originalRequest.map(describe) ?? "none"
        let answer: String
        switch response.answer {
        case .fileDescriptors(let files):
            answer = "file_descriptor_response=\(files.count):" + files.map(hex).joined(separator: ",")
        case .allExtensionNumbers(let type, let numbers):
            answer = "all_extension_numbers_response=\(hex(type)):\(numbers.count):"
                + numbers.map(String.init).joined(separator: ",")
        case .services(let names):
            answer = "list_services_response=\(names.count):" + names.map(hex).joined(separator: ",")
        case .error(let code, let message):
            answer = "error_response=\(code):\(hex(message))"
        }
        return "valid_host=\(hex(response.validHost)) original=[\(original)] \(answer)"
    }

    /// Runs `python3 -c script arguments…` with this process's environment and standard
    /// streams, and waits for it. posix_spawn, not Foundation's `Process` (see
    /// TokenwireProcess's ChildProcess for why), and this target has no TokenwireProcess.
    /// - Returns: The exit status (128 + the signal's number when a signal ended it).
    private func runPython(_ script: String, _ arguments: [String]) throws -> Int32 {
        let argv = ["python3", "-c", script] + arguments
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, "python3", nil, nil, &cArguments, &cEnvironment)
        guard result == 0 else {
            throw SpawnFailure(description: "cannot start python3: \(String(cString: strerror(result)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnFailure(description: "waitpid failed: errno \(errno)") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private struct SpawnFailure: Error, CustomStringConvertible {
        var description: String
    }
}

/// A small seeded generator, so random-input tests fail the same way every run.
private struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
