public import TokenwireCore

/// The `grpc-message` trailer's percent-encoding (gRPC PROTOCOL-HTTP2): UTF-8 bytes
/// outside `%x20-%x24 / %x26-%x7E` travel as `%XX`.
public enum GRPCStatusMessage {
    /// The longest `grpc-message` we send, encoded. Longer messages are cut (at a character)
    /// and end with "…": a message echoing a megabyte of input would otherwise make
    /// trailers that nghttp2 cannot send and clients will not take.
    public static let maxEncodedLength = 4096

    /// Percent-encodes a status message for the `grpc-message` trailer, cut to
    /// `maxEncodedLength` bytes.
    /// - Parameters:
    ///   - message: The message, any Unicode.
    ///   - maxEncodedLength: The most bytes the result may have (at least 9, for the "…").
    /// - Returns: ASCII in which every byte outside `%x20-%x24 / %x26-%x7E` (including
    ///   `%` itself) is `%` and two upper-case hex digits.
    public static func percentEncode(_ message: String, maxEncodedLength: Int = maxEncodedLength) -> String {
        let message = truncated(message, toEncodedLength: maxEncodedLength)
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

    /// `message` itself if it encodes to at most `limit` bytes; else its longest prefix of
    /// whole characters that, with "…" after it, does.
    static func truncated(_ message: String, toEncodedLength limit: Int) -> String {
        let ellipsis = "\u{2026}"
        let ellipsisCost = 9  // %E2%80%A6
        var cost = 0
        var endOfLastWholeCharacter = message.startIndex
        for index in message.indices {
            guard cost <= limit else { break }
            if cost <= limit - ellipsisCost { endOfLastWholeCharacter = index }
            for byte in message[index].utf8 { cost += isUnreserved(byte) ? 1 : 3 }
        }
        guard cost > limit else { return message }
        return String(message[..<endOfLastWholeCharacter]) + ellipsis
    }

    /// The status a response's `grpc-status` and `grpc-message` fields carry; nil without
    /// `grpc-status`. A code that is not a number is UNKNOWN, as gRPC clients read it.
    public static func status(grpcStatus code: String?, grpcMessage message: String?) -> GRPCStatus? {
        guard let code else { return nil }
        return GRPCStatus(code: GRPCStatus.Code(rawValue: Int(code) ?? 2), message: message.map(percentDecode) ?? "")
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
