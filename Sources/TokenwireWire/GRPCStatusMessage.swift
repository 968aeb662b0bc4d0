/// The `grpc-message` trailer's percent-encoding (gRPC PROTOCOL-HTTP2): UTF-8 bytes
/// outside `%x20-%x24 / %x26-%x7E` travel as `%XX`.
public enum GRPCStatusMessage {
    /// Percent-encodes a status message for the `grpc-message` trailer.
    /// - Parameter message: The message, any Unicode.
    /// - Returns: ASCII in which every byte outside `%x20-%x24 / %x26-%x7E` (including
    ///   `%` itself) is `%` and two upper-case hex digits.
    public static func percentEncode(_ message: String) -> String {
        let utf8 = message.utf8
        var encodedCount = 0
        for byte in utf8 {
            encodedCount += isUnreserved(byte) ? 1 : 3
        }
        guard encodedCount != utf8.count else { return message }
        return String(unsafeUninitializedCapacity: encodedCount) { output in
            var position = 0
            for byte in utf8 {
                if isUnreserved(byte) {
                    output[position] = byte
                    position += 1
                } else {
                    output[position] = UInt8(ascii: "%")
                    output[position + 1] = hexDigit(byte >> 4)
                    output[position + 2] = hexDigit(byte & 0x0F)
                    position += 3
                }
            }
            return position
        }
    }

    /// Decodes a `grpc-message` trailer value, leniently: a `%` not followed by two hex
    /// digits is kept as it is, and bytes that are not UTF-8 become U+FFFD. Never fails.
    /// - Parameter value: The trailer value as received.
    /// - Returns: The status message.
    public static func percentDecode(_ value: String) -> String {
        let input = Array(value.utf8)
        guard input.contains(UInt8(ascii: "%")) else { return value }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var position = 0
        while position < input.count {
            let byte = input[position]
            if byte == UInt8(ascii: "%"), position + 2 < input.count,
                let high = hexValue(input[position + 1]), let low = hexValue(input[position + 2])
            {
                output.append(high << 4 | low)
                position += 3
            } else {
                output.append(byte)
                position += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    @inline(__always)
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        (0x20...0x7E).contains(byte) && byte != UInt8(ascii: "%")
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
