internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension TokenFrame: WireMessage {
    /// Appends the `tokenwire.v1.TokenFrame` encoding of the frame to `buffer`.
    ///
    /// This is the hot path (one call per token). A text or reasoning frame — almost every
    /// frame — is written here directly: three fields, the bytes protobuf-c would write
    /// (`TokenFrameEncodingTests` holds the two to the same bytes), without protobuf-c's
    /// sizing pass, its packing pass and the C structs around them, which were 10% of the
    /// server's CPU on a flood of tokens (docs/BENCHMARKS.md). Every other frame goes
    /// through protobuf-c (`encodeWithProtobufC`).
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        switch event {
        case .text(let text): encodeStringEvent(tag: Self.textTag, text, into: &buffer)
        case .reasoning(let reasoning): encodeStringEvent(tag: Self.reasoningTag, reasoning, into: &buffer)
        default: encodeWithProtobufC(into: &buffer)
        }
    }

    /// Field tags (number << 3 | wire type) of the fields written directly.
    private static let seqTag: UInt8 = 1 << 3 | 0       // uint64 seq = 1 (varint)
    private static let indexTag: UInt8 = 2 << 3 | 0     // uint32 index = 2 (varint)
    private static let textTag: UInt8 = 4 << 3 | 2      // string text = 4 (length-delimited)
    private static let reasoningTag: UInt8 = 6 << 3 | 2 // string reasoning = 6 (length-delimited)

    /// `seq` and `index` (proto3: each only when not 0, as protobuf-c writes them), then the
    /// event's string: always, being a set member of the `oneof`, even when empty. One
    /// reservation and one pass over the bytes (a `writeInteger` per byte checked the
    /// buffer's capacity and uniqueness each time, and was slower than protobuf-c).
    private func encodeStringEvent(tag: UInt8, _ string: String, into buffer: inout ByteBuffer) {
        var string = string
        string.makeContiguousUTF8()
        let length = string.utf8.count
        let headerSize = (seq != 0 ? 1 + Self.varintSize(seq) : 0)
            + (index != 0 ? 1 + Self.varintSize(UInt64(index)) : 0)
            + 1 + Self.varintSize(UInt64(length))
        let total = headerSize + length
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { destination in
            var at = 0
            if seq != 0 {
                destination[at] = Self.seqTag
                at = Self.writeVarint(seq, to: destination, at: at + 1)
            }
            if index != 0 {
                destination[at] = Self.indexTag
                at = Self.writeVarint(UInt64(index), to: destination, at: at + 1)
            }
            destination[at] = tag
            at = Self.writeVarint(UInt64(length), to: destination, at: at + 1)
            string.utf8.withContiguousStorageIfAvailable { utf8 in
                UnsafeMutableRawBufferPointer(rebasing: destination[at..<at + length]).copyMemory(from: UnsafeRawBufferPointer(utf8))
            }
            return total
        }
    }

    private static func varintSize(_ value: UInt64) -> Int {
        // 7 bits a byte; 0 still takes one.
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    /// Writes `value` as a varint at `at`; returns the index after it.
    @inline(__always)
    private static func writeVarint(_ value: UInt64, to destination: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        var value = value
        var at = at
        while value >= 0x80 {
            destination[at] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            at += 1
        }
        destination[at] = UInt8(value)
        return at + 1
    }

    /// The encoding by protobuf-c: the C structs live on the stack and the strings are
    /// borrowed, so it allocates nothing beyond growing `buffer`.
    func encodeWithProtobufC(into buffer: inout ByteBuffer) {
        var frame = Tokenwire__V1__TokenFrame()
        tokenwire__v1__token_frame__init(&frame)
        frame.seq = seq
        frame.index = index
        guard let event else {
            Self.pack(&frame, into: &buffer)
            return
        }
        event.withCEvent(in: &frame) { frame in
            Self.pack(&frame, into: &buffer)
        }
    }

    /// Decodes a `tokenwire.v1.TokenFrame`; an event this version does not know (from a
    /// newer server) decodes as `event == nil`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `TokenFrame`.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "tokenwire.v1.TokenFrame",
            direction: .response,
            unpack: { tokenwire__v1__token_frame__unpack(nil, $0, $1) },
            free: { tokenwire__v1__token_frame__free_unpacked($0, nil) },
            read: { frame in
                TokenFrame(
                    seq: frame.pointee.seq,
                    index: frame.pointee.index,
                    event: TokenEvent(cFrame: frame.pointee)
                )
            }
        )
    }

    @inline(__always)
    private static func pack(_ frame: inout Tokenwire__V1__TokenFrame, into buffer: inout ByteBuffer) {
        ProtobufCCodec.write(
            packedSize: tokenwire__v1__token_frame__get_packed_size(&frame),
            into: &buffer
        ) { tokenwire__v1__token_frame__pack(&frame, $0) }
    }
}
