public import NIOCore
public import TokenwireCore

/// Splits a stream of bytes (the DATA frames of one gRPC call, in order) into gRPC
/// messages, checking each prefix before buffering the message behind it.
///
/// Feed bytes with `append(_:)` and then call `next()` until it returns `nil`. Messages
/// come out as slices of the bytes that were fed in, without copying when a message does
/// not straddle two appends.
///
/// - Important: Call `next()` until it returns `nil` after every `append(_:)`; that is when
///   an oversized or compressed message is rejected, before its body is buffered. Errors
///   are sticky: after `next()` throws, it throws the same error again and further bytes
///   are dropped.
public struct GRPCMessageDeframer: Sendable {
    private enum State {
        /// Waiting for the 5-byte prefix of the next message.
        case awaitingPrefix
        /// The prefix is read; waiting for a body of this many bytes.
        case awaitingBody(length: Int, compressed: Bool)
        /// A prefix was invalid; the call is broken.
        case failed(TokenwireError)
    }

    private static let prefixSize = 5

    /// The largest message body accepted, in bytes.
    public let maxMessageSize: Int
    /// Whether messages with the compressed flag are accepted (the call named a supported
    /// `grpc-encoding`); they come out of `nextMessage()` marked compressed.
    public let acceptsCompressed: Bool
    private var state: State = .awaitingPrefix
    private var buffered: ByteBuffer = ByteBuffer()

    /// A deframer that rejects messages larger than `maxMessageSize`.
    /// - Parameter maxMessageSize: The receive limit in bytes; gRPC's default is 4 MiB.
    /// - Parameter acceptsCompressed: accept messages with the compressed flag set (the
    ///   caller inflates them); otherwise they are refused.
    public init(maxMessageSize: Int = 4 * 1024 * 1024, acceptsCompressed: Bool = false) {
        precondition(maxMessageSize >= 0, "maxMessageSize must not be negative")
        self.maxMessageSize = maxMessageSize
        self.acceptsCompressed = acceptsCompressed
    }

    /// A message as it arrived: its body, and whether the compressed flag was set.
    public struct Message: Sendable {
        public var body: ByteBuffer
        public var isCompressed: Bool
    }

    /// Bytes received but not yet returned as messages (excluding prefixes already read).
    public var bufferedBytes: Int { buffered.readableBytes }

    /// Whether part of a message (prefix or body) has arrived but not all of it. A stream
    /// that ends while this is `true` was cut off mid-message.
    public var isInsideMessage: Bool {
        switch state {
        case .awaitingPrefix: buffered.readableBytes > 0
        case .awaitingBody: true
        case .failed: false
        }
    }

    /// Adds the next bytes of the stream.
    /// - Parameter bytes: The readable bytes of a DATA frame (or any piece of the stream).
    public mutating func append(_ bytes: ByteBuffer) {
        if case .failed = state { return }
        guard bytes.readableBytes > 0 else { return }
        if buffered.readableBytes == 0 {
            // The common case: the previous DATA frame held whole messages. Keep the new
            // buffer itself, so the messages in it are sliced out without a copy.
            buffered = bytes
            return
        }
        // Reclaim the space of messages already returned once it outweighs what is left.
        if buffered.readerIndex > buffered.readableBytes {
            buffered.discardReadBytes()
        }
        var bytes = bytes
        buffered.writeBuffer(&bytes)
    }

    /// The next whole message body, or `nil` when more bytes are needed.
    /// - Returns: The message body (without its prefix), a slice of the appended bytes.
    /// - Throws: `TokenwireError` with code
    ///   - `.resourceExhausted` when a prefix announces more than `maxMessageSize` bytes;
    ///   - `.unimplemented` when a message is compressed (this side supports no `grpc-encoding`);
    ///   - `.internal` when the compressed-flag byte is neither 0 nor 1.
    public mutating func next() throws(TokenwireError) -> ByteBuffer? {
        try nextMessage()?.body
    }

    /// The next whole message, or `nil` when more bytes are needed; as `next()`, but a
    /// deframer that `acceptsCompressed` also hands out compressed messages, marked so.
    public mutating func nextMessage() throws(TokenwireError) -> Message? {
        if case .awaitingPrefix = state {
            guard buffered.readableBytes >= Self.prefixSize else { return nil }
            let flag = buffered.readInteger(as: UInt8.self)!
            let length = Int(buffered.readInteger(as: UInt32.self)!)
            if let error = Self.validatePrefix(flag: flag, length: length, maxMessageSize: maxMessageSize, acceptsCompressed: acceptsCompressed) {
                state = .failed(error)
                buffered = ByteBuffer()  // release what was buffered; the call is over
                throw error
            }
            state = .awaitingBody(length: length, compressed: flag == 1)
        }
        switch state {
        case .awaitingPrefix:
            return nil
        case .awaitingBody(let length, let compressed):
            guard let body = buffered.readSlice(length: length) else { return nil }
            state = .awaitingPrefix
            return Message(body: body, isCompressed: compressed)
        case .failed(let error):
            throw error
        }
    }

    private static func validatePrefix(flag: UInt8, length: Int, maxMessageSize: Int, acceptsCompressed: Bool) -> TokenwireError? {
        switch flag {
        case 0:
            break
        case 1 where acceptsCompressed:
            break
        case 1:
            return .unimplemented(
                "message is compressed but the call named no grpc-encoding "
                    + "(send grpc-encoding: gzip with compressed messages, or send them uncompressed)"
            )
        default:
            return .internal("invalid compressed-flag byte 0x\(hex(flag)) in message prefix")
        }
        guard length <= maxMessageSize else {
            return .resourceExhausted(
                "message of \(length) bytes exceeds the receive limit of \(maxMessageSize) bytes"
            )
        }
        return nil
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
