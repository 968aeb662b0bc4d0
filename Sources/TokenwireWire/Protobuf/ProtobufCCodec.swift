internal import CProtobufC
internal import NIOCore
internal import TokenwireCore

/// The moves every protobuf-c message conversion shares: packing into a `ByteBuffer`,
/// unpacking from one, and reading C strings.
enum ProtobufCCodec {
    /// Whether a decoded message was sent by a client or by a server, for error messages.
    enum Direction: String {
        case request
        case response
    }

    /// Reserves `packedSize` bytes in `buffer` and lets `pack` write the message there.
    ///
    /// - Parameters:
    ///   - packedSize: The size from the message's `__get_packed_size`.
    ///   - buffer: The buffer to append to.
    ///   - pack: Calls the message's `__pack` with the destination and returns its result.
    @inline(__always)
    static func write(
        packedSize: Int,
        into buffer: inout ByteBuffer,
        _ pack: (UnsafeMutablePointer<UInt8>) -> Int
    ) {
        // A message with every field at its default packs to nothing; a zero-byte
        // reservation may hand out no address, so skip the call.
        guard packedSize > 0 else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: packedSize) { destination in
            let bytes = destination.baseAddress!.bindMemory(to: UInt8.self, capacity: packedSize)
            let written = pack(bytes)
            // protobuf-c packs what it sized; anything else is a bug in how we built the message.
            precondition(written == packedSize, "protobuf-c packed \(written) bytes of a \(packedSize)-byte message")
            return written
        }
    }

    /// Unpacks one message from the readable bytes of `bytes`, converts it, and frees it.
    ///
    /// - Parameters:
    ///   - bytes: The message body.
    ///   - messageName: The fully qualified protobuf name, for the error message.
    ///   - direction: Whether the message is a request or a response, for the error message.
    ///   - unpack: Calls the message's `__unpack(NULL, length, data)`.
    ///   - free: Calls the message's `__free_unpacked(message, NULL)`.
    ///   - read: Converts the unpacked C message to a Swift value.
    /// - Returns: The Swift value.
    /// - Throws: `.invalidArgument` when protobuf-c rejects the bytes.
    static func read<CMessage, Value>(
        _ bytes: ByteBuffer,
        messageName: String,
        direction: Direction,
        unpack: (Int, UnsafePointer<UInt8>) -> UnsafeMutablePointer<CMessage>?,
        free: (UnsafeMutablePointer<CMessage>) -> Void,
        read: (UnsafeMutablePointer<CMessage>) -> Value
    ) throws(TokenwireError) -> Value {
        let value: Value? = bytes.withUnsafeReadableBytes { body in
            func unpackAndRead(_ data: UnsafePointer<UInt8>) -> Value? {
                guard let message = unpack(body.count, data) else { return nil }
                defer { free(message) }
                return read(message)
            }
            guard let base = body.baseAddress else {
                // An empty buffer may have no address; protobuf-c still wants a pointer.
                var empty: UInt8 = 0
                return withUnsafePointer(to: &empty) { unpackAndRead($0) }
            }
            return unpackAndRead(base.bindMemory(to: UInt8.self, capacity: body.count))
        }
        guard let value else {
            throw .invalidArgument(
                "the \(direction.rawValue) is not a valid \(messageName) "
                    + "(\(bytes.readableBytes) bytes of protobuf could not be parsed)"
            )
        }
        return value
    }

    /// A Swift string from a protobuf-c bytes field (the proto's string fields are compiled
    /// as bytes: see tools/proto_strings_as_bytes.py), by length: a U+0000 is data.
    ///
    /// Invalid UTF-8 from a peer is repaired with U+FFFD, never trapped on.
    @inline(__always)
    static func string(_ field: ProtobufCBinaryData) -> String {
        guard field.len > 0, let data = field.data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: field.len), as: UTF8.self)
    }

    /// Runs `body` with `string`'s UTF-8 bytes as a protobuf-c bytes field, borrowed: valid
    /// only inside `body`, and never written through by protobuf-c.
    @inline(__always)
    static func withBytes<Result>(_ string: String, _ body: (ProtobufCBinaryData) -> Result) -> Result {
        var string = string
        return string.withUTF8 { utf8 in
            body(ProtobufCBinaryData(len: utf8.count, data: UnsafeMutablePointer(mutating: utf8.baseAddress)))
        }
    }
}
