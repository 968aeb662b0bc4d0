/// What went wrong with a Redis command.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered the command with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
    case server(command: String, message: String)
    /// The connection closed or failed before the answer came; the command may or may not
    /// have run.
    case connectionLost(command: String, reason: String)
    /// No answer within the command timeout; the connection is closed, since later
    /// answers could no longer be matched to their commands.
    case timedOut(command: String, after: Duration)
    /// The server could not be reached.
    case cannotConnect(address: String, reason: String)
    /// The server's bytes were not RESP; the connection is closed.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .server(let command, let message): "Redis refused \(command): \(message)"
        case .connectionLost(let command, let reason): "the connection to Redis was lost before \(command) was answered: \(reason)"
        case .timedOut(let command, let after): "Redis did not answer \(command) within \(after)"
        case .cannotConnect(let address, let reason): "cannot connect to Redis at \(address): \(reason)"
        case .protocolViolation(let message): message
        }
    }
}
