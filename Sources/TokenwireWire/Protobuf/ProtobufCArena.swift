internal import CProtobufC

/// The C memory behind one message being encoded: C strings, structs and pointer arrays
/// that protobuf-c reads while packing, all freed together when the encode is done.
///
/// Used for messages with repeated fields (requests, `Completion`); `TokenFrame`, the hot
/// path, is built on the stack instead.
struct ProtobufCArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    private init() {}

    /// Runs `body` with a fresh arena and frees everything it allocated afterwards.
    /// - Parameter body: Builds and packs a message; nothing it allocates may escape it.
    /// - Returns: What `body` returns.
    static func with<Result>(_ body: (inout ProtobufCArena) -> Result) -> Result {
        var arena = ProtobufCArena()
        defer {
            for allocation in arena.allocations {
                allocation.deallocate()
            }
        }
        return body(&arena)
    }

    /// A copy of `string`'s UTF-8 bytes as a protobuf-c bytes field (how the proto's
    /// string fields are compiled), so a U+0000 inside it is data.
    mutating func bytes(_ string: String) -> ProtobufCBinaryData {
        let utf8 = string.utf8
        guard !utf8.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let count = utf8.count
        let bytes = allocate(byteCount: count, alignment: 1).bindMemory(to: UInt8.self, capacity: count)
        _ = UnsafeMutableBufferPointer(start: bytes, count: count).initialize(from: utf8)
        return ProtobufCBinaryData(len: count, data: bytes)
    }

    /// A C message struct, set up by its protobuf-c `__init` function.
    ///
    /// A zeroed struct has no descriptor and crashes protobuf-c, and Swift cannot import the
    /// `..._INIT` macros, so every struct goes through `initialize`.
    mutating func message<CMessage>(
        _ type: CMessage.Type,
        initializedBy initialize: (UnsafeMutablePointer<CMessage>) -> Void
    ) -> UnsafeMutablePointer<CMessage> {
        let raw = allocate(
            byteCount: MemoryLayout<CMessage>.size,
            alignment: MemoryLayout<CMessage>.alignment
        )
        let message = raw.bindMemory(to: CMessage.self, capacity: 1)
        initialize(message)
        return message
    }

    /// An array of `count` message pointers, all `nil`, for a repeated field; `nil` when
    /// `count` is 0 (protobuf-c reads no element then).
    mutating func pointerArray<CMessage>(
        of type: CMessage.Type,
        count: Int
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<CMessage>?>? {
        guard count > 0 else { return nil }
        typealias Element = UnsafeMutablePointer<CMessage>?
        let raw = allocate(byteCount: MemoryLayout<Element>.stride * count, alignment: MemoryLayout<Element>.alignment)
        let array = raw.bindMemory(to: Element.self, capacity: count)
        array.initialize(repeating: nil, count: count)
        return array
    }

    private mutating func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: alignment)
        allocations.append(raw)
        return raw
    }
}
