public import NIOCore

/// One value of the Redis serialization protocol (RESP2, what Redis answers unless a
/// connection asks for RESP3 with HELLO).
public enum RESPValue: Sendable, Equatable {
    /// `+OK\r\n`
    case simpleString(String)
    /// `-ERR message\r\n`: the command failed; the connection is fine.
    case error(String)
    /// `:42\r\n`
    case integer(Int64)
    /// `$3\r\nabc\r\n`; nil for the null bulk string `$-1\r\n`. Binary-safe: a NUL is data.
    case bulkString(ByteBuffer?)
    /// `*2\r\n...`; nil for the null array `*-1\r\n`.
    case array([RESPValue]?)

    /// The text of a simple or bulk string (bulk bytes read as UTF-8), else nil.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(buffer: bytes)
        default: nil
        }
    }

    /// The elements of a non-null array, else nil.
    public var elements: [RESPValue]? {
        if case .array(let elements?) = self { elements } else { nil }
    }

    /// Whether this is a null bulk string or a null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }
}
