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
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.readableBytes)\r\n")
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}
