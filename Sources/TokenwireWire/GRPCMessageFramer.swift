public import NIOCore

/// Writes gRPC length-prefixed messages: a compressed-flag byte, a 4-byte big-endian
/// length, then the message (gRPC PROTOCOL-HTTP2, "Length-Prefixed-Message").
public enum GRPCMessageFramer {
    /// The size of the prefix in front of every message.
    @usableFromInline
    static let prefixSize = 5

    /// Appends `message` to `buffer` as one uncompressed, length-prefixed gRPC message.
    ///
    /// The message is encoded straight after a placeholder prefix whose length is then
    /// patched in, so the message is encoded once and never copied.
    /// - Parameters:
    ///   - message: The message to frame.
    ///   - buffer: The buffer to append to, typically the payload of a DATA frame.
    @inlinable
    public static func appendMessage(_ message: some WireMessage, to buffer: inout ByteBuffer) {
        let prefixIndex = buffer.writerIndex
        buffer.writeRepeatingByte(0, count: prefixSize)  // compressed flag 0, length patched below
        message.encode(into: &buffer)
        let length = buffer.writerIndex - prefixIndex - prefixSize
        precondition(length <= Int(UInt32.max), "a gRPC message is at most 4 GiB; this one is \(length) bytes")
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: prefixIndex + 1)
    }

    /// The length (prefix included) of the message whose prefix starts at `index` of
    /// `buffer`, or nil if the buffer does not hold all of it. The message may lie before
    /// the reader index (bytes already read but still held).
    public static func messageLength(in buffer: ByteBuffer, at index: Int) -> Int? {
        guard index >= 0, index + prefixSize <= buffer.writerIndex else { return nil }
        // A view whose reader index is `index` (the storage is shared, not copied).
        var view = buffer
        view.moveReaderIndex(to: index)
        guard let length = view.getInteger(at: index + 1, as: UInt32.self) else { return nil }
        let total = prefixSize + Int(length)
        return index + total <= buffer.writerIndex ? total : nil
    }
}
