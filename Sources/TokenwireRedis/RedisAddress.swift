/// Where a Redis server is: `redis://HOST[:PORT][/DB]` (port 6379, database 0 by default).
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int

    public init(host: String, port: Int = 6379, database: Int = 0) {
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `redis://HOST[:PORT][/DB]`; a bracketed IPv6 host (`redis://[::1]:6379`) works.
    /// - Throws: `RedisAddressError` saying what part is wrong.
    public init(parsing text: String) throws(RedisAddressError) {
        guard text.hasPrefix("redis://") else {
            throw RedisAddressError("'\(text)' does not start with redis:// (expected redis://HOST:PORT[/DB])")
        }
        var rest = Substring(text.dropFirst("redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            guard path.isEmpty || Int(path) != nil, let number = path.isEmpty ? 0 : Int(path), number >= 0 else {
                throw RedisAddressError("database '\(path)' in '\(text)' is not a number of 0 or more")
            }
            database = number
            rest = rest[..<slash]
        }
        var host = rest
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisAddressError("unclosed '[' in '\(text)'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else {
                    throw RedisAddressError("port '\(after.dropFirst())' in '\(text)' is not a number")
                }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]) else {
                throw RedisAddressError("port '\(rest[rest.index(after: colon)...])' in '\(text)' is not a number")
            }
            port = number
        }
        guard !host.isEmpty else { throw RedisAddressError("no host in '\(text)'") }
        guard (1...65535).contains(port) else { throw RedisAddressError("port \(port) in '\(text)' is not between 1 and 65535") }
        self.init(host: String(host), port: port, database: database)
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(shownHost):\(port)" + (database == 0 ? "" : "/\(database)")
    }
}

/// Why a Redis address could not be read.
public struct RedisAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}
