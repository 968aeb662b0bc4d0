public import NIOCore

/// One Redis command: its name and arguments, sent as a RESP array of bulk strings (so
/// any byte, a NUL included, can be an argument).
public struct RESPCommand: Sendable {
    public var arguments: [ByteBuffer]

    /// - Parameter name: the command, such as `XADD`; then its arguments.
    public init(_ name: String, _ arguments: [ByteBuffer] = []) {
        self.arguments = [ByteBuffer(string: name)] + arguments
    }

    /// A command whose arguments are all text.
    public init(_ name: String, _ arguments: String...) {
        self.init(name, arguments.map { ByteBuffer(string: $0) })
    }

    /// The command's name, for errors and logs (arguments may be secrets or large).
    public var name: String { arguments.first.map { String(buffer: $0) } ?? "" }

    /// Appends the command's RESP encoding to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        encode(into: &buffer, separatelyFrom: .max) { _ in }
    }

    /// Appends the command's RESP encoding to `buffer`, except that an argument of at least
    /// `threshold` bytes is not copied: `write` gets what `buffer` holds before it, then the
    /// argument itself, and `buffer` starts again empty. (A resume store batch carries a
    /// stream's frames as one argument, often hundreds of kilobytes; written as its own
    /// buffer it goes out by `writev`, without a copy.)
    public func encode(into buffer: inout ByteBuffer, separatelyFrom threshold: Int, _ write: (ByteBuffer) -> Void) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.readableBytes)\r\n")
            if argument.readableBytes >= threshold {
                write(buffer)
                write(argument)
                buffer = ByteBuffer()
            } else {
                buffer.writeImmutableBuffer(argument)
            }
            buffer.writeStaticString("\r\n")
        }
    }
}
