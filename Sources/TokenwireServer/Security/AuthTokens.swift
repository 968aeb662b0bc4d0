public import TokenwireCore

/// The bearer tokens a server accepts, and the tenant each one names (`--auth-tokens`).
///
/// The file has one `TENANT TOKEN` pair per line, separated by spaces or tabs; `#` starts a
/// comment; blank lines are ignored. A line may end with `max_active_calls=N`: that
/// tenant's calls running at once (every method but health) are limited to N, its
/// further calls get RESOURCE_EXHAUSTED. A tenant may have several tokens (rotation); a
/// token names one tenant only.
public struct AuthTokens: Sendable, Equatable {
    public struct Tenant: Sendable, Hashable {
        public var name: String
        /// Its calls running at once; nil: only the server's limits apply.
        public var maxActiveCalls: Int?
    }

    /// Token bytes, each with the index of its tenant in `tenants`.
    private(set) var tokens: [(token: [UInt8], tenant: Int)] = []
    public private(set) var tenants: [Tenant] = []

    public static func == (lhs: AuthTokens, rhs: AuthTokens) -> Bool {
        lhs.tenants == rhs.tenants && lhs.tokens.elementsEqual(rhs.tokens) { $0.token == $1.token && $0.tenant == $1.tenant }
    }

    /// No tokens: every call that needs one is refused.
    init() {}

    /// Parses the file's text.
    /// - Parameter source: the file's name, for messages.
    /// - Throws: `.invalidArgument` naming the line and what is wrong with it (never the token).
    public init(parsing text: String, source: String) throws(TokenwireError) {
        var tenantIndex: [String: Int] = [:]
        var seen: [[UInt8]: Int] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let place = "\(source) line \(number + 1)"
            guard fields.count == 2 || fields.count == 3 else {
                throw .invalidArgument("\(place): expected 'TENANT TOKEN [max_active_calls=N]', found \(fields.count) fields")
            }
            let name = String(fields[0])
            guard name.utf8.allSatisfy({ Self.isNameByte($0) }) else {
                throw .invalidArgument("\(place): the tenant name \(ErrorExcerpt.quoted(name)) may hold only letters, digits, '.', '_' and '-'")
            }
            let token = Array(fields[1].utf8)
            guard token.count >= 16 else {
                throw .invalidArgument("\(place): tenant '\(name)' has a token of \(token.count) bytes; use at least 16 (e.g. `openssl rand -hex 32`)")
            }
            guard token.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .invalidArgument("\(place): tenant '\(name)' has a token with a byte that is not visible ASCII")
            }
            var limit: Int?
            if fields.count == 3 {
                let option = fields[2]
                guard option.hasPrefix("max_active_calls="), let value = Int(option.dropFirst("max_active_calls=".count)), value > 0 else {
                    throw .invalidArgument("\(place): the third field must be max_active_calls=N with N at least 1, not \(ErrorExcerpt.quoted(String(option)))")
                }
                limit = value
            }
            let index: Int
            if let existing = tenantIndex[name] {
                index = existing
                if let limit {
                    if let other = tenants[index].maxActiveCalls, other != limit {
                        throw .invalidArgument("\(place): tenant '\(name)' has max_active_calls=\(limit) here and \(other) on an earlier line")
                    }
                    tenants[index].maxActiveCalls = limit
                }
            } else {
                index = tenants.count
                tenantIndex[name] = index
                tenants.append(Tenant(name: name, maxActiveCalls: limit))
            }
            if let other = seen[token] {
                throw .invalidArgument("\(place): this token is already tenant '\(tenants[other].name)''s; every token names one tenant")
            }
            seen[token] = index
            tokens.append((token, index))
        }
        guard !tokens.isEmpty else {
            throw .invalidArgument("\(source) holds no tokens, so every call would be refused; add lines 'TENANT TOKEN'")
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// The tenant whose token `presented` is, comparing with every token in time that
    /// depends only on `presented`'s length and the number of tokens, never on where the
    /// bytes differ.
    func tenant(presenting presented: some Collection<UInt8>) -> Tenant? {
        let presented = Array(presented)
        var found = -1
        for entry in tokens {
            // Branch-free select: found keeps its value unless this entry matches.
            let match = Self.constantTimeEquals(entry.token, presented)
            let mask = 0 &- Int(match ? 1 : 0)
            found = (entry.tenant & mask) | (found & ~mask)
        }
        return found >= 0 ? tenants[found] : nil
    }

    /// Whether `known` equals `presented`, looking at every byte of `presented`.
    static func constantTimeEquals(_ known: [UInt8], _ presented: [UInt8]) -> Bool {
        var difference: UInt8 = known.count == presented.count ? 0 : 1
        for index in presented.indices {
            difference |= (index < known.count ? known[index] : 0) ^ presented[index]
        }
        return difference == 0
    }
}
