import Foundation
import Testing
import TokenwireCore
@testable import TokenwireServer
import TokenwireWire

/// The index server reflection answers from, on the served descriptor set (checked against
/// Python's protobuf) and on a set Python builds with imports, nesting and extensions.
@Suite("ProtoDescriptorIndex")
struct ProtoDescriptorIndexTests {
    static let tokenwireFile = "tokenwire/v1/tokenwire.proto"

    @Test func listsEveryServedServiceSorted() throws {
        let index = try ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet)
        #expect(index.serviceNames == [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "tokenwire.v1.TokenStream",
        ])
        #expect(index.fileNames == [
            "grpc/health/v1/health.proto",
            "grpc/reflection/v1/reflection.proto",
            "grpc/reflection/v1alpha/reflection.proto",
            "tokenwire/v1/tokenwire.proto",
        ])
    }

    @Test func findsFilesByNameAndSymbol() throws {
        let index = try ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet)
        let tokenwire = try #require(index.files(named: Self.tokenwireFile))
        // tokenwire.proto imports nothing.
        #expect(tokenwire.count == 1)
        #expect(name(ofFile: try #require(tokenwire.first)) == Self.tokenwireFile)

        let symbols: [(String, String)] = [
            ("tokenwire.v1.GenerateRequest", Self.tokenwireFile),  // a message
            ("tokenwire.v1.GenerateRequest.MetadataEntry", Self.tokenwireFile),  // a nested (map entry) message
            ("tokenwire.v1.GenerateRequest.model", Self.tokenwireFile),  // a field
            ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),  // a nested enum
            ("grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"),  // its value
            ("tokenwire.v1.TokenStream", Self.tokenwireFile),  // a service
            ("tokenwire.v1.TokenStream.Generate", Self.tokenwireFile),  // a method
            (".tokenwire.v1.TokenStream.Complete", Self.tokenwireFile),  // with a leading dot
            ("grpc.reflection.v1.ServerReflection.ServerReflectionInfo", "grpc/reflection/v1/reflection.proto"),
            ("grpc.reflection.v1alpha.ServerReflectionRequest", "grpc/reflection/v1alpha/reflection.proto"),
            ("grpc.reflection.v1.ServerReflectionRequest.message_request", "grpc/reflection/v1/reflection.proto"),  // a oneof
        ]
        for (symbol, file) in symbols {
            let files = try #require(index.files(containingSymbol: symbol), "\(symbol)")
            #expect(files.count == 1, "\(symbol)")
            #expect(files.first.map(name(ofFile:)) == file, "\(symbol)")
        }
    }

    @Test func unknownNamesAreNil() throws {
        let index = try ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet)
        #expect(index.files(named: "nope.proto") == nil)
        #expect(index.files(named: "") == nil)
        #expect(index.files(named: "tokenwire.proto") == nil)
        for symbol in ["", "tokenwire", "tokenwire.v1", "tokenwire.v1.Nope", "TokenStream", "tokenwire.v1.TokenStream.Nope", "."] {
            #expect(index.files(containingSymbol: symbol) == nil, "\(symbol)")
        }
        #expect(index.files(containingExtension: "tokenwire.v1.GenerateRequest", number: 100) == nil)
        #expect(index.extensionNumbers(ofType: "tokenwire.v1.GenerateRequest") == [])
        #expect(index.extensionNumbers(ofType: "grpc.health.v1.HealthCheckResponse") == [])
        #expect(index.extensionNumbers(ofType: "tokenwire.v1.TokenStream") == nil)  // a service, not a message
        #expect(index.extensionNumbers(ofType: "nope.Nope") == nil)
    }

    @Test func malformedSetsThrow() throws {
        let set = ServedDescriptors.fileDescriptorSet
        let malformed: [(String, [UInt8])] = [
            ("cut inside the first file", Array(set.prefix(10))),
            ("cut one byte short", Array(set.dropLast())),
            ("garbage", Array(repeating: 0xff, count: 12)),
            ("a length past the end", [0x0a, 0x05, 0x0a]),
            ("a name that is a varint", [0x0a, 0x02, 0x08, 0x01]),
            ("a file without a name", [0x0a, 0x00]),
            ("wire type 7", [0x0f]),
            ("field number 0", [0x02, 0x00]),
            ("an unterminated group", [0x0b, 0x08, 0x01]),
            ("a stray end of group", [0x0c]),
            ("the same file twice", set + set),
            ("an import the set does not hold", file(name: "x.proto", dependencies: ["y.proto"])),
            ("a message without a name", file(name: "x.proto", messages: [[]])),
            ("a symbol twice", file(name: "x.proto", messages: [messageNamed("M"), messageNamed("M")])),
            ("messages nested too deep", file(name: "x.proto", messages: [nestedMessages(depth: ProtoDescriptorIndex.maxNesting + 1)])),
        ]
        for (what, bytes) in malformed {
            #expect(throws: TokenwireError.self, "\(what)") { try ProtoDescriptorIndex(fileDescriptorSet: bytes) }
        }
        do {
            _ = try ProtoDescriptorIndex(fileDescriptorSet: Array(set.prefix(10)))
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("the file descriptor set is malformed: "))
        }
    }

    @Test func wellFormedOddSetsAreAccepted() throws {
        #expect(try ProtoDescriptorIndex(fileDescriptorSet: []).serviceNames == [])
        // Unknown fields of every wire type (varint, fixed64, fixed32, a group) are skipped,
        // in the set and in a file.
        func unknown(from field: UInt64) -> [UInt8] {
            varint(field << 3 | 0) + [0x96, 0x01]
                + varint((field + 1) << 3 | 1) + Array(repeating: 0, count: 8)
                + varint((field + 2) << 3 | 5) + [0, 0, 0, 0]
                + varint((field + 3) << 3 | 3) + [0x08, 0x01, 0x13, 0x14] + varint((field + 3) << 3 | 4)
                + varint((field + 4) << 3 | 2) + [0x01, 0xff]
        }
        let index = try ProtoDescriptorIndex(
            fileDescriptorSet: unknown(from: 2)
                + file(name: "x.proto", messages: [nestedMessages(depth: ProtoDescriptorIndex.maxNesting)], extra: unknown(from: 100)))
        #expect(index.fileNames == ["x.proto"])
        #expect(index.files(containingSymbol: "M" + String(repeating: ".M", count: ProtoDescriptorIndex.maxNesting - 1)) != nil)
    }

    @Test func everyPrefixOfTheServedSetThrowsOrIndexesWithoutTrapping() {
        let set = ServedDescriptors.fileDescriptorSet
        var accepted = 0
        for length in stride(from: 0, through: set.count, by: 3) {
            if (try? ProtoDescriptorIndex(fileDescriptorSet: Array(set.prefix(length)))) != nil { accepted += 1 }
        }
        // Only cuts between files (and the empty set) are whole sets.
        #expect(accepted >= 1 && accepted <= 5)
    }

    /// Python's protobuf parses the embedded set; its file names are ours, and every
    /// message, enum, enum value, field, service and method it lists resolves to its file.
    @Test func agreesWithPythonProtobuf() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("served.bin")
        try Data(ServedDescriptors.fileDescriptorSet).write(to: path)

        let output = try await runProcess("python3", ["-c", Self.listSymbolsScript, path.path])
        try #require(output.status == 0, "\(output.stderr)")
        let index = try ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet)
        var fileNames: [String] = []
        var symbolCount = 0
        for line in output.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            switch fields.first {
            case "file":
                fileNames.append(fields[1])
                // protoc wrote the bytes the index answers with; Python serializes equal ones.
                #expect(index.files(named: fields[1])?.first.map(hex) == fields[2])
            case "service":
                #expect(index.serviceNames.contains(fields[1]))
            case "symbol":
                symbolCount += 1
                let answer = index.files(containingSymbol: fields[1])
                #expect(answer?.first.map(name(ofFile:)) == fields[2], "\(fields[1])")
            default:
                Issue.record("unexpected line \(line)")
            }
        }
        #expect(fileNames == index.fileNames)
        #expect(symbolCount > 50)
        #expect(Set(output.stdout.split(separator: "\n").filter { $0.hasPrefix("service\t") }.map { String($0.dropFirst(8)) })
            == Set(index.serviceNames))
    }

    static let listSymbolsScript = #"""
        import sys
        from google.protobuf import descriptor_pb2, descriptor_pool

        fds = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], "rb").read())
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
            print(f"file\t{f.name}\t{f.SerializeToString().hex()}")

        def symbol(name, file, method=False):
            # Python's own pool agrees the symbol is the file's (its FindFileContainingSymbol
            # does not look up methods).
            found = pool.FindMethodByName(name).containing_service.file if method else pool.FindFileContainingSymbol(name)
            assert found.name == file, (name, file)
            print(f"symbol\t{name}\t{file}")

        def message(m, file):
            symbol(m.full_name, file)
            for field in m.fields:
                symbol(field.full_name, file)
            for oneof in m.oneofs:
                symbol(oneof.full_name, file)
            for nested in m.nested_types:
                message(nested, file)
            for e in m.enum_types:
                enum(e, file, m.full_name)

        def enum(e, file, scope):
            symbol(e.full_name, file)
            for value in e.values:
                # Enum values are symbols of the enum's scope, as in C++.
                symbol(f"{scope}.{value.name}" if scope else value.name, file)

        for f in fds.file:
            d = pool.FindFileByName(f.name)
            for m in d.message_types_by_name.values():
                message(m, f.name)
            for e in d.enum_types_by_name.values():
                enum(e, f.name, d.package)
            for s in d.services_by_name.values():
                print(f"service\t{s.full_name}")
                symbol(s.full_name, f.name)
                for method in s.methods:
                    symbol(method.full_name, f.name, method=True)
        """#

    /// Imports, transitive imports, nested types, and extensions (file-level and
    /// message-scoped), on a proto2 set Python builds and checks with its own pool.
    @Test func followsImportsAndIndexesExtensionsOfASetPythonBuilds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("built.bin")

        let output = try await runProcess("python3", ["-c", Self.buildSetScript, path.path])
        try #require(output.status == 0, "\(output.stderr)")
        let index = try ProtoDescriptorIndex(fileDescriptorSet: Array(try Data(contentsOf: path)))

        #expect(index.fileNames == ["a.proto", "b.proto", "c.proto"])
        #expect(index.serviceNames == ["Svc", "pkg.b.Api"])
        #expect(try #require(index.files(named: "c.proto")).map(name(ofFile:)) == ["c.proto", "b.proto", "a.proto"])
        #expect(try #require(index.files(named: "b.proto")).map(name(ofFile:)) == ["b.proto", "a.proto"])
        #expect(try #require(index.files(named: "a.proto")).map(name(ofFile:)) == ["a.proto"])

        let symbols: [(String, String)] = [
            ("pkg.a.Base", "a.proto"),
            ("pkg.b.Outer", "b.proto"),
            ("pkg.b.Outer.Inner", "b.proto"),
            ("pkg.b.Outer.Inner.Kind", "b.proto"),
            ("pkg.b.Outer.Inner.K0", "b.proto"),  // an enum value: a symbol of the enum's scope
            ("pkg.b.Color", "b.proto"),
            ("pkg.b.RED", "b.proto"),
            ("pkg.b.ext_num", "b.proto"),
            ("pkg.b.Api.Call", "b.proto"),
            ("Top", "c.proto"),
            ("Top.nested_ext", "c.proto"),
            ("Svc.Do", "c.proto"),
        ]
        for (symbol, file) in symbols {
            #expect(index.files(containingSymbol: symbol)?.first.map(name(ofFile:)) == file, "\(symbol)")
        }
        #expect(index.files(containingSymbol: "pkg.b.Outer.Inner.Kind.K0") == nil)

        #expect(index.extensionNumbers(ofType: "pkg.a.Base") == [101, 150])
        #expect(index.extensionNumbers(ofType: ".pkg.a.Base") == [101, 150])
        #expect(index.extensionNumbers(ofType: "pkg.b.Outer.Inner") == [])
        #expect(index.extensionNumbers(ofType: "pkg.b.Color") == nil)
        #expect(index.files(containingExtension: "pkg.a.Base", number: 150)?.map(name(ofFile:)) == ["b.proto", "a.proto"])
        #expect(index.files(containingExtension: "pkg.a.Base", number: 101)?.map(name(ofFile:)) == ["c.proto", "b.proto", "a.proto"])
        #expect(index.files(containingExtension: "pkg.a.Base", number: 102) == nil)
        #expect(index.files(containingExtension: "pkg.b.Outer", number: 150) == nil)
    }

    static let buildSetScript = #"""
        import sys
        from google.protobuf import descriptor_pb2, descriptor_pool

        FD = descriptor_pb2.FieldDescriptorProto
        a = descriptor_pb2.FileDescriptorProto(name="a.proto", package="pkg.a", syntax="proto2")
        base = a.message_type.add(name="Base")
        base.extension_range.add(start=100, end=200)

        b = descriptor_pb2.FileDescriptorProto(name="b.proto", package="pkg.b", syntax="proto2", dependency=["a.proto"])
        outer = b.message_type.add(name="Outer")
        inner = outer.nested_type.add(name="Inner")
        inner.field.add(name="count", number=1, label=FD.LABEL_OPTIONAL, type=FD.TYPE_INT32)
        inner.enum_type.add(name="Kind").value.add(name="K0", number=0)
        b.enum_type.add(name="Color").value.add(name="RED", number=0)
        b.extension.add(name="ext_num", number=150, label=FD.LABEL_OPTIONAL, type=FD.TYPE_INT32, extendee=".pkg.a.Base")
        api = b.service.add(name="Api")
        api.method.add(name="Call", input_type=".pkg.b.Outer", output_type=".pkg.b.Outer")

        c = descriptor_pb2.FileDescriptorProto(name="c.proto", syntax="proto2", dependency=["b.proto", "a.proto"])
        top = c.message_type.add(name="Top")
        top.extension.add(name="nested_ext", number=101, label=FD.LABEL_OPTIONAL, type=FD.TYPE_STRING, extendee=".pkg.a.Base")
        svc = c.service.add(name="Svc")
        svc.method.add(name="Do", input_type=".Top", output_type=".pkg.b.Outer.Inner")

        # The pool checks that the set is consistent (names resolve, numbers are in range).
        pool = descriptor_pool.DescriptorPool()
        for f in (a, b, c):
            pool.Add(f)
        pool.FindFileByName("c.proto")
        assert pool.FindExtensionByNumber(pool.FindMessageTypeByName("pkg.a.Base"), 150).full_name == "pkg.b.ext_num"

        s = descriptor_pb2.FileDescriptorSet(file=[a, b, c])
        open(sys.argv[1], "wb").write(s.SerializeToString())
        """#

    // MARK: Helpers

    /// The `name` (field 1) of a serialized `FileDescriptorProto`, read by hand.
    private func name(ofFile bytes: [UInt8]) -> String? {
        var position = 0
        func varint() -> Int? {
            var value = 0
            var shift = 0
            while position < bytes.count, shift < 63 {
                let byte = bytes[position]
                position += 1
                value |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while position < bytes.count {
            guard let key = varint() else { return nil }
            switch key & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: position += 8
            case 5: position += 4
            case 2:
                guard let length = varint(), length <= bytes.count - position else { return nil }
                if key >> 3 == 1 { return String(decoding: bytes[position..<position + length], as: UTF8.self) }
                position += length
            default: return nil
            }
        }
        return nil
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
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

    private func lengthDelimited(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    /// A `FileDescriptorSet` of one file, encoded by hand.
    private func file(name: String, dependencies: [String] = [], messages: [[UInt8]] = [], extra: [UInt8] = []) -> [UInt8] {
        var body = lengthDelimited(1, Array(name.utf8))
        for dependency in dependencies { body += lengthDelimited(3, Array(dependency.utf8)) }
        for message in messages { body += lengthDelimited(4, message) }
        return lengthDelimited(1, body + extra)
    }

    private func messageNamed(_ name: String) -> [UInt8] {
        lengthDelimited(1, Array(name.utf8))
    }

    /// A `DescriptorProto` named `M` holding `depth - 1` levels of nested `M`s.
    private func nestedMessages(depth: Int) -> [UInt8] {
        var message = messageNamed("M")
        for _ in 1..<depth {
            message = messageNamed("M") + lengthDelimited(3, message)
        }
        return message
    }
}
