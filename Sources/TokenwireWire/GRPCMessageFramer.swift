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
}
