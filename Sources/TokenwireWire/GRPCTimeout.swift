/// The `grpc-timeout` header: 1 to 8 ASCII digits followed by a unit, `H` (hours),
/// `M` (minutes), `S` (seconds), `m` (milliseconds), `u` (microseconds) or `n`
/// (nanoseconds), per gRPC PROTOCOL-HTTP2.
public enum GRPCTimeout {
    private static let maxValue: Int64 = 99_999_999

    /// The duration a `grpc-timeout` value names.
    /// - Parameter value: The header value, such as `"250m"`.
    /// - Returns: The duration, or `nil` when the value is not 1–8 ASCII digits and a unit
    ///   (no sign, no spaces, no other digits).
    public static func parse(_ value: String) -> Duration? {
        let utf8 = value.utf8
        guard (2...9).contains(utf8.count), let unit = utf8.last else { return nil }
        var amount: Int64 = 0
        for byte in utf8.dropLast() {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// A `grpc-timeout` value for `duration`, in the finest unit whose value fits in 8
    /// digits, rounded up so the peer never sees a shorter deadline than ours.
    /// - Parameter duration: The time left until the deadline.
    /// - Returns: A value such as `"250000u"`; `"0n"` for a zero or negative duration;
    ///   `"99999999H"` for a duration longer than that.
    public static func encode(_ duration: Duration) -> String {
        guard duration > .zero else { return "0n" }
        let (seconds, attoseconds) = duration.components
        // Units finer than a second: (unit, units per second).
        for (unit, perSecond) in [("n", Int64(1_000_000_000)), ("u", 1_000_000), ("m", 1_000)] {
            guard seconds <= maxValue / perSecond else { continue }
            let attosecondsPerUnit = 1_000_000_000_000_000_000 / perSecond
            let fraction = (attoseconds + attosecondsPerUnit - 1) / attosecondsPerUnit
            let amount = seconds * perSecond + fraction
            if amount <= maxValue { return "\(amount)\(unit)" }
        }
        // Units of a second or more: (unit, seconds per unit). A fraction of a second rounds
        // up to one more unit.
        for (unit, secondsPerUnit) in [("S", Int64(1)), ("M", 60), ("H", 3600)] {
            let wholeUnits = seconds / secondsPerUnit
            let remainder = seconds % secondsPerUnit
            let amount = wholeUnits + (remainder > 0 || attoseconds > 0 ? 1 : 0)
            if amount <= maxValue { return "\(amount)\(unit)" }
        }
        return "\(maxValue)H"
    }
}
