extension BenchJSON {
    /// The member `key` of an object, or nil.
    subscript(key: String) -> BenchJSON? {
        members.first { $0.0 == key }?.1
    }

    /// An object's members in order; empty for other values.
    var members: [(String, BenchJSON)] {
        if case .object(let members) = self { return members }
        return []
    }

    var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}
