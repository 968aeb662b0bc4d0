/// Walks the fields of protobuf wire bytes, of every wire type, without decoding them:
/// the shape checks count elements with it before protobuf-c allocates for them.
enum ProtobufWireScanner {
    /// Counts `messages` (field 2) and `metadata` (field 7) of a `GenerateRequest`.
    /// The repeated elements of a `GenerateRequest`: chat messages (field 2), the tool
    /// calls inside them (their field 4), metadata entries (7) and tools (9).
    static func generateRequestCounts(_ bytes: UnsafeRawBufferPointer) -> GenerateRequestCounts {
        var counts = GenerateRequestCounts()
        forEachField(in: bytes) { field, wireType, payload in
            guard wireType == 2 else { return }
            switch field {
            case 2:
                counts.messages += 1
                forEachField(in: payload) { field, wireType, _ in
                    if field == 4, wireType == 2 { counts.toolCalls += 1 }
                }
            case 7: counts.metadata += 1
            case 9: counts.tools += 1
            default: break
            }
        }
        return counts
    }

    struct GenerateRequestCounts {
        var messages = 0
        var metadata = 0
        var tools = 0
        var toolCalls = 0

        var all: Int { messages + metadata + tools + toolCalls }
    }

    /// Calls `body` with the number, the wire type and the payload of each field, in order
    /// (a varint's or a fixed field's payload is its bytes). Stops quietly at the first
    /// malformed byte: protobuf-c reports malformed input.
    static func forEachField(
        in bytes: UnsafeRawBufferPointer,
        _ body: (_ field: UInt64, _ wireType: UInt64, _ payload: UnsafeRawBufferPointer) -> Void
    ) {
        var position = 0
        while position < bytes.count {
            guard let key = readVarint(bytes, &position) else { return }
            let start = position
            let end: Int
            switch key & 7 {
            case 0:
                guard readVarint(bytes, &position) != nil else { return }
                end = position
            case 1:
                guard bytes.count - position >= 8 else { return }
                end = position + 8
            case 2:
                guard let length = readVarint(bytes, &position), length <= UInt64(bytes.count - position) else { return }
                end = position + Int(length)
            case 5:
                guard bytes.count - position >= 4 else { return }
                end = position + 4
            default:
                return
            }
            let payloadStart = key & 7 == 2 ? position : start
            body(key >> 3, key & 7, UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<end]))
            position = end
        }
    }

    private static func readVarint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
