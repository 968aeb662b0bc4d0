import TokenwireCore

/// What gRPC server reflection looks up in a `google.protobuf.FileDescriptorSet`: files by
/// name, the file that defines a symbol, services, extensions.
///
/// Built from the set's bytes with a small protobuf wire-format reader (no generated code
/// for descriptor.proto, which is proto2 and which protobuf-c does not ship for us). It
/// reads only the names it needs and keeps each file's bytes as they came, so answers carry
/// exactly the `FileDescriptorProto`s that protoc wrote.
///
/// Every length is checked and every malformed input throws; nothing traps.
struct ProtoDescriptorIndex: Sendable {
    /// One file of the set.
    private struct File: Sendable {
        /// The serialized `FileDescriptorProto`, as it is in the set.
        var bytes: [UInt8]
        /// The files it imports (`dependency`), by name.
        var dependencies: [String]
    }

    /// The files by name.
    private var files: [String: File] = [:]
    /// The file that defines each fully qualified symbol (no leading dot).
    private var symbols: [String: String] = [:]
    /// Every fully qualified message name (no leading dot), nested ones too.
    private var messageTypes: Set<String> = []
    /// The file that defines each extension: by extended message (no leading dot), then
    /// field number.
    private var extensions: [String: [Int32: String]] = [:]

    /// The file names, in the order of the set.
    private(set) var fileNames: [String] = []

    /// The fully qualified names of the services the set defines (such as
    /// `tokenwire.v1.TokenStream`), sorted.
    private(set) var serviceNames: [String] = []

    /// The deepest nesting of messages accepted, as protobuf's own default recursion limit.
    static let maxNesting = 100

    /// Indexes a serialized `google.protobuf.FileDescriptorSet`.
    /// - Parameter fileDescriptorSet: The set's bytes, such as
    ///   `ServedDescriptors.fileDescriptorSet`.
    /// - Throws: `.invalidArgument` when the bytes are not a valid descriptor set, a file
    ///   has no name, a file or a symbol is defined twice, or a file imports one the set
    ///   does not hold (build the set with `--include_imports`).
    init(fileDescriptorSet: [UInt8]) throws(TokenwireError) {
        var reader = ProtoWireReader(fileDescriptorSet)
        while let field = try reader.next() {
            guard field.number == 1 else { continue }  // FileDescriptorSet.file
            try addFile(try reader.lengthDelimited(field, "FileDescriptorSet.file"), of: fileDescriptorSet)
        }
        for name in fileNames {
            for dependency in files[name]?.dependencies ?? [] where files[dependency] == nil {
                throw Self.malformed("\(ErrorExcerpt.quoted(name)) imports \(ErrorExcerpt.quoted(dependency)), which the set does not hold (build it with --include_imports)")
            }
        }
        serviceNames.sort()
    }

    /// The serialized `FileDescriptorProto` of the file named `name` (such as
    /// `tokenwire/v1/tokenwire.proto`), followed by those of everything it imports,
    /// transitively, each once: what a reflection client needs to build the file.
    /// - Returns: nil when the set holds no such file.
    func files(named name: String) -> [[UInt8]]? {
        guard files[name] != nil else { return nil }
        var result: [[UInt8]] = []
        var seen: Set<String> = []
        // Depth first, the named file first; iterative, so deep import chains cannot
        // exhaust the stack.
        var pending = [name]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted, let file = files[next] else { continue }
            result.append(file.bytes)
            pending.append(contentsOf: file.dependencies.reversed())
        }
        return result
    }

    /// The files (as `files(named:)`) of the file that defines `symbol`: a fully qualified
    /// message or enum (nested ones too, such as `tokenwire.v1.GenerateRequest.MetadataEntry`),
    /// enum value (a symbol of the enum's scope, as in C++: `grpc.health.v1.HealthCheckResponse.SERVING`),
    /// message field, oneof, service, method (`package.Service.Method`) or extension.
    /// A leading dot is accepted.
    /// - Returns: nil when no file of the set defines the symbol.
    func files(containingSymbol symbol: String) -> [[UInt8]]? {
        symbols[Self.withoutLeadingDot(symbol)].flatMap { files(named: $0) }
    }

    /// The files (as `files(named:)`) of the file that defines the extension of the fully
    /// qualified message `containingType` with field number `number`.
    /// - Returns: nil when no file of the set defines such an extension (none of the
    ///   proto3 files Tokenwire serves defines any).
    func files(containingExtension containingType: String, number: Int32) -> [[UInt8]]? {
        extensions[Self.withoutLeadingDot(containingType)]?[number].flatMap { files(named: $0) }
    }

    /// The field numbers of the extensions of the fully qualified message `type`, sorted.
    /// - Returns: nil when the set defines no such message; `[]` for a message nothing
    ///   extends (every message Tokenwire serves: proto3 has no extensions but of options).
    func extensionNumbers(ofType type: String) -> [Int32]? {
        let type = Self.withoutLeadingDot(type)
        guard messageTypes.contains(type) else { return nil }
        return (extensions[type]?.keys).map { $0.sorted() } ?? []
    }

    // MARK: Reading

    /// Reads one `FileDescriptorProto` and indexes what it defines.
    private mutating func addFile(_ range: Range<Int>, of set: [UInt8]) throws(TokenwireError) {
        var reader = ProtoWireReader(set, range)
        var name: String?
        var package = ""
        var dependencies: [String] = []
        var messages: [Range<Int>] = []
        var enums: [Range<Int>] = []
        var services: [Range<Int>] = []
        var fileExtensions: [Range<Int>] = []
        while let field = try reader.next() {
            switch field.number {
            case 1: name = try reader.string(field, "FileDescriptorProto.name")
            case 2: package = try reader.string(field, "FileDescriptorProto.package")
            case 3: dependencies.append(try reader.string(field, "FileDescriptorProto.dependency"))
            case 4: messages.append(try reader.lengthDelimited(field, "FileDescriptorProto.message_type"))
            case 5: enums.append(try reader.lengthDelimited(field, "FileDescriptorProto.enum_type"))
            case 6: services.append(try reader.lengthDelimited(field, "FileDescriptorProto.service"))
            case 7: fileExtensions.append(try reader.lengthDelimited(field, "FileDescriptorProto.extension"))
            default: continue
            }
        }
        guard let name, !name.isEmpty else {
            throw Self.malformed("file \(fileNames.count + 1) of the set has no name")
        }
        guard files[name] == nil else {
            throw Self.malformed("the set holds \(ErrorExcerpt.quoted(name)) twice")
        }
        files[name] = File(bytes: Array(set[range]), dependencies: dependencies)
        fileNames.append(name)

        var context = FileContext(file: name, set: set)
        for message in messages {
            try context.addMessage(message, scope: package, depth: 1)
        }
        for enumType in enums {
            try context.addEnum(enumType, scope: package)
        }
        for service in services {
            let serviceName = try context.addService(service, scope: package)
            serviceNames.append(serviceName)
        }
        for fileExtension in fileExtensions {
            try context.addExtension(fileExtension, scope: package)
        }

        for (symbol, _) in context.symbols where symbols[symbol] != nil {
            throw Self.malformed("\(ErrorExcerpt.quoted(symbol)) is defined twice (in \(ErrorExcerpt.quoted(symbols[symbol] ?? "")) and \(ErrorExcerpt.quoted(name)))")
        }
        for symbol in context.symbols.keys {
            symbols[symbol] = name
        }
        messageTypes.formUnion(context.messageTypes)
        for (extendee, number) in context.extensions {
            extensions[extendee, default: [:]][number] = name
        }
    }

    /// The symbols one file defines, gathered before they join the index.
    private struct FileContext {
        let file: String
        let set: [UInt8]
        /// Each symbol, once; the value is unused.
        var symbols: [String: Void] = [:]
        var messageTypes: Set<String> = []
        var extensions: [(extendee: String, number: Int32)] = []

        init(file: String, set: [UInt8]) {
            self.file = file
            self.set = set
        }

        private mutating func define(_ symbol: String) throws(TokenwireError) {
            guard symbols.updateValue((), forKey: symbol) == nil else {
                throw ProtoDescriptorIndex.malformed("\(ErrorExcerpt.quoted(symbol)) is defined twice in \(ErrorExcerpt.quoted(file))")
            }
        }

        /// A `DescriptorProto`: its name, fields, oneofs, nested messages and enums,
        /// extensions.
        mutating func addMessage(_ range: Range<Int>, scope: String, depth: Int) throws(TokenwireError) {
            guard depth <= ProtoDescriptorIndex.maxNesting else {
                throw ProtoDescriptorIndex.malformed("\(ErrorExcerpt.quoted(file)) nests messages deeper than \(ProtoDescriptorIndex.maxNesting)")
            }
            var reader = ProtoWireReader(set, range)
            var name: String?
            var fields: [Range<Int>] = []
            var nested: [Range<Int>] = []
            var enums: [Range<Int>] = []
            var messageExtensions: [Range<Int>] = []
            var oneofs: [Range<Int>] = []
            while let field = try reader.next() {
                switch field.number {
                case 1: name = try reader.string(field, "DescriptorProto.name")
                case 2: fields.append(try reader.lengthDelimited(field, "DescriptorProto.field"))
                case 3: nested.append(try reader.lengthDelimited(field, "DescriptorProto.nested_type"))
                case 4: enums.append(try reader.lengthDelimited(field, "DescriptorProto.enum_type"))
                case 6: messageExtensions.append(try reader.lengthDelimited(field, "DescriptorProto.extension"))
                case 8: oneofs.append(try reader.lengthDelimited(field, "DescriptorProto.oneof_decl"))
                default: continue
                }
            }
            let fullName = try qualified(name, in: scope, "a message")
            try define(fullName)
            messageTypes.insert(fullName)
            for field in fields {
                let fieldName = try Self.name(of: field, in: set, "FieldDescriptorProto.name")
                try define(try qualified(fieldName, in: fullName, "a field"))
            }
            for oneof in oneofs {
                let oneofName = try Self.name(of: oneof, in: set, "OneofDescriptorProto.name")
                try define(try qualified(oneofName, in: fullName, "a oneof"))
            }
            for message in nested {
                try addMessage(message, scope: fullName, depth: depth + 1)
            }
            for enumType in enums {
                try addEnum(enumType, scope: fullName)
            }
            for messageExtension in messageExtensions {
                try addExtension(messageExtension, scope: fullName)
            }
        }

        /// An `EnumDescriptorProto`: its name and its values, which (as in C++) are
        /// symbols of the scope that holds the enum, not of the enum.
        mutating func addEnum(_ range: Range<Int>, scope: String) throws(TokenwireError) {
            var reader = ProtoWireReader(set, range)
            var name: String?
            var values: [Range<Int>] = []
            while let field = try reader.next() {
                switch field.number {
                case 1: name = try reader.string(field, "EnumDescriptorProto.name")
                case 2: values.append(try reader.lengthDelimited(field, "EnumDescriptorProto.value"))
                default: continue
                }
            }
            try define(try qualified(name, in: scope, "an enum"))
            for value in values {
                let valueName = try Self.name(of: value, in: set, "EnumValueDescriptorProto.name")
                try define(try qualified(valueName, in: scope, "an enum value"))
            }
        }

        /// A `ServiceDescriptorProto`: its name and its methods.
        /// - Returns: The service's fully qualified name.
        mutating func addService(_ range: Range<Int>, scope: String) throws(TokenwireError) -> String {
            var reader = ProtoWireReader(set, range)
            var name: String?
            var methods: [Range<Int>] = []
            while let field = try reader.next() {
                switch field.number {
                case 1: name = try reader.string(field, "ServiceDescriptorProto.name")
                case 2: methods.append(try reader.lengthDelimited(field, "ServiceDescriptorProto.method"))
                default: continue
                }
            }
            let fullName = try qualified(name, in: scope, "a service")
            try define(fullName)
            for method in methods {
                let methodName = try Self.name(of: method, in: set, "MethodDescriptorProto.name")
                try define(try qualified(methodName, in: fullName, "a method"))
            }
            return fullName
        }

        /// A `FieldDescriptorProto` of an extension: its name, its extendee and its number.
        mutating func addExtension(_ range: Range<Int>, scope: String) throws(TokenwireError) {
            var reader = ProtoWireReader(set, range)
            var name: String?
            var extendee = ""
            var number: Int32 = 0
            while let field = try reader.next() {
                switch field.number {
                case 1: name = try reader.string(field, "FieldDescriptorProto.name")
                case 2: extendee = try reader.string(field, "FieldDescriptorProto.extendee")
                case 3: number = try reader.int32(field, "FieldDescriptorProto.number")
                default: continue
                }
            }
            try define(try qualified(name, in: scope, "an extension"))
            extensions.append((ProtoDescriptorIndex.withoutLeadingDot(extendee), number))
        }

        /// `scope.name`, or `name` in the root scope; throws when the name is missing.
        private func qualified(_ name: String?, in scope: String, _ what: String) throws(TokenwireError) -> String {
            guard let name, !name.isEmpty else {
                throw ProtoDescriptorIndex.malformed("\(what) in \(ErrorExcerpt.quoted(file)) has no name")
            }
            return scope.isEmpty ? name : scope + "." + name
        }

        /// The `name` (field 1) of a message, such as a field or a method.
        private static func name(of range: Range<Int>, in set: [UInt8], _ what: String) throws(TokenwireError) -> String? {
            var reader = ProtoWireReader(set, range)
            var name: String?
            while let field = try reader.next() {
                if field.number == 1 { name = try reader.string(field, what) }
            }
            return name
        }
    }

    static func withoutLeadingDot(_ name: String) -> String {
        name.hasPrefix(".") ? String(name.dropFirst()) : name
    }

    static func malformed(_ detail: String) -> TokenwireError {
        .invalidArgument("the file descriptor set is malformed: \(detail)")
    }
}

/// Reads the fields of protobuf wire bytes, one at a time, in a range of an array: varints,
/// fixed 32 and 64-bit values, length-delimited values and (skipped) groups. Every length
/// is checked against what is left; anything malformed throws.
fileprivate struct ProtoWireReader {
    /// One field's key and where its value is.
    struct Field {
        var number: UInt64
        var wireType: UInt8
        /// A varint's value (wire type 0); 0 otherwise.
        var varint: UInt64
        /// A length-delimited value's bytes (wire type 2); the value's bytes otherwise.
        var range: Range<Int>
    }

    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    /// A reader of `bytes[range]` (all of `bytes` by default). The range must lie inside
    /// `bytes` (ranges from another reader of the same bytes always do).
    init(_ bytes: [UInt8], _ range: Range<Int>? = nil) {
        let range = range ?? bytes.indices
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// The next field, or nil at the end of the range.
    /// - Throws: `.invalidArgument` at a truncated or malformed field.
    mutating func next() throws(TokenwireError) -> Field? {
        guard position < end else { return nil }
        let key = try readVarint()
        let number = key >> 3
        let wireType = UInt8(key & 7)
        guard number > 0, number <= 536_870_911 else {
            throw ProtoDescriptorIndex.malformed("field number \(number) at byte \(position) is out of range")
        }
        let start = position
        switch wireType {
        case 0:
            let value = try readVarint()
            return Field(number: number, wireType: wireType, varint: value, range: start..<position)
        case 1:
            try skip(8)
        case 2:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw ProtoDescriptorIndex.malformed("a \(length)-byte value at byte \(position) runs past its end (\(end - position) bytes left)")
            }
            let valueStart = position
            position += Int(length)
            return Field(number: number, wireType: wireType, varint: 0, range: valueStart..<position)
        case 3:
            try skipGroup(number)
        case 5:
            try skip(4)
        default:
            throw ProtoDescriptorIndex.malformed("wire type \(wireType) at byte \(start) is not valid here")
        }
        return Field(number: number, wireType: wireType, varint: 0, range: start..<position)
    }

    /// The bytes of a length-delimited field.
    /// - Parameter what: The field's name, for the error message.
    func lengthDelimited(_ field: Field, _ what: String) throws(TokenwireError) -> Range<Int> {
        guard field.wireType == 2 else {
            throw ProtoDescriptorIndex.malformed("\(what) has wire type \(field.wireType), not 2 (length-delimited)")
        }
        return field.range
    }

    /// A string field's value; invalid UTF-8 is repaired with U+FFFD.
    func string(_ field: Field, _ what: String) throws(TokenwireError) -> String {
        String(decoding: bytes[try lengthDelimited(field, what)], as: UTF8.self)
    }

    /// An `int32` field's value (negative numbers are sign-extended to ten bytes).
    func int32(_ field: Field, _ what: String) throws(TokenwireError) -> Int32 {
        guard field.wireType == 0 else {
            throw ProtoDescriptorIndex.malformed("\(what) has wire type \(field.wireType), not 0 (varint)")
        }
        return Int32(truncatingIfNeeded: field.varint)
    }

    private mutating func readVarint() throws(TokenwireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while position < end, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw ProtoDescriptorIndex.malformed(
            position >= end ? "a varint at byte \(start) is truncated" : "a varint at byte \(start) is longer than ten bytes")
    }

    private mutating func skip(_ count: Int) throws(TokenwireError) {
        guard end - position >= count else {
            throw ProtoDescriptorIndex.malformed("a \(count)-byte value at byte \(position) runs past its end (\(end - position) bytes left)")
        }
        position += count
    }

    /// Skips a group (wire types 3 and 4, from proto2) up to its matching end, nested ones
    /// too, without recursion.
    private mutating func skipGroup(_ number: UInt64) throws(TokenwireError) {
        var open = [number]
        while let innermost = open.last {
            guard position < end else {
                throw ProtoDescriptorIndex.malformed("group \(innermost) has no end")
            }
            let key = try readVarint()
            let fieldNumber = key >> 3
            switch key & 7 {
            case 0: _ = try readVarint()
            case 1: try skip(8)
            case 2:
                let length = try readVarint()
                guard length <= UInt64(end - position) else {
                    throw ProtoDescriptorIndex.malformed("a \(length)-byte value at byte \(position) runs past its end (\(end - position) bytes left)")
                }
                position += Int(length)
            case 3: open.append(fieldNumber)
            case 4:
                guard fieldNumber == innermost else {
                    throw ProtoDescriptorIndex.malformed("group \(innermost) ends as group \(fieldNumber)")
                }
                open.removeLast()
            case 5: try skip(4)
            default:
                throw ProtoDescriptorIndex.malformed("wire type \(key & 7) at byte \(position) is not valid")
            }
        }
    }
}
