/// The name of a resumable stream: 128 random bits from the system's secure generator,
/// written as 32 lowercase hex digits in `StreamStart.resume_token`.
///
/// The registry keys its streams by the bits, not by the text: hashing two words costs
/// less than hashing a 32-byte string, and a key holds no heap storage of its own.
struct ResumeToken: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    /// A new token.
    static func random() -> ResumeToken {
        let (high, low) = SecureRandomWords.next2()
        return ResumeToken(high: high, low: low)
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The token a client sent; nil unless it is 32 hex digits (any other text names no
    /// stream this server made).
    init?(_ text: String) {
        let utf8 = text.utf8
        guard utf8.count == 32 else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        for (index, byte) in utf8.enumerated() {
            guard let digit = Self.value(ofHexDigit: byte) else { return nil }
            if index < 16 {
                words.0 = words.0 << 4 | UInt64(digit)
            } else {
                words.1 = words.1 << 4 | UInt64(digit)
            }
        }
        self.init(high: words.0, low: words.1)
    }

    /// The 32 hex digits.
    var text: String {
        // Written straight into the string's storage: one allocation.
        String(unsafeUninitializedCapacity: 32) { buffer in
            for digit in 0..<16 {
                buffer[digit] = Self.hexDigits[Int(high >> UInt64(60 - 4 * digit) & 0xf)]
                buffer[16 + digit] = Self.hexDigits[Int(low >> UInt64(60 - 4 * digit) & 0xf)]
            }
            return 32
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func value(ofHexDigit byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
