/// Why bytes from a Redis server could not be read as RESP. The connection cannot be
/// trusted after one of these: the client closes it.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "the Redis server sent bytes that are not RESP: \(message)" }
}
