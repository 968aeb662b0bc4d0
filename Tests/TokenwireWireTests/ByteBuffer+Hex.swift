import NIOCore

extension ByteBuffer {
    /// A buffer holding the bytes a hex string spells; spaces are ignored.
    init(hex: String) {
        let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: " ") })
        precondition(digits.count.isMultiple(of: 2), "odd number of hex digits in \(hex)")
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            bytes.append(UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)!)
        }
        self.init(bytes: bytes)
    }

    /// The readable bytes as lower-case hex without separators.
    var hexString: String {
        readableBytesView.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
