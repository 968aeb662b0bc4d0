/// Number conversions with Foundation `JSONDecoder`'s rules, so that the dialects' wire
/// types (`TokenCount`, `LossyString`, `JSONValue`, `Int` indexes) decode exactly as before.
extension JSONDocument {
    /// The number at `index` as an integer of type `T`, or nil if the node is not a number
    /// or its value is not exactly a `T`.
    ///
    /// As `JSONDecoder` does: an integer is taken as it is written; anything else (`3.0`,
    /// `1e2`, or an integer too large to take directly) is parsed as a `Double` and accepted
    /// only if that `Double` is exactly a `T`; at 2^53 and beyond, where a `Double` cannot
    /// tell neighbouring integers apart, the written digits decide, truncated toward zero.
    func integer<T: FixedWidthInteger>(at index: Int, as type: T.Type = T.self) -> T? {
        let node = nodes[index]
        guard node.kind == .number else { return nil }
        if node.flags & JSONNode.Flags.fitsInt64 != 0 {
            return T(exactly: Int64(bitPattern: node.payload))
        }
        let text = numberText(at: index)
        if node.flags & JSONNode.Flags.integer != 0, let value = T(text) { return value }
        guard let double = Double(text), let value = T(exactly: double) else { return nil }
        if double.magnitude < 0x1p53 { return value }
        return Self.truncatedDecimal(text, as: T.self)
    }

    /// The number at `index` as a floating-point `T`, or nil if the node is not a number or
    /// its value overflows to infinity or underflows to zero (`1e400`, `1e-400`), which
    /// `JSONDecoder` rejects too.
    func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(at index: Int, as type: T.Type = T.self) -> T? {
        let node = nodes[index]
        guard node.kind == .number else { return nil }
        if T.self == Double.self, node.flags & JSONNode.Flags.fitsInt64 != 0 {
            let integer = Int64(bitPattern: node.payload)
            if integer.magnitude <= 1 << 53 { return T(integer) }
        }
        let text = numberText(at: index)
        guard let value = T(String(text)), value.isFinite else { return nil }
        guard value != 0 || Self.isTrueZero(text) else { return nil }
        return value
    }

    private func numberText(at index: Int) -> Substring {
        Substring(text(at: index))
    }

    /// Whether a number's digits before any exponent are all zeros.
    private static func isTrueZero(_ text: Substring) -> Bool {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "1")...UInt8(ascii: "9"): return false
            case UInt8(ascii: "e"), UInt8(ascii: "E"): return true
            default: continue
            }
        }
        return true
    }

    /// The value of a number's digits and exponent, truncated toward zero, as Foundation's
    /// `Decimal`-based slow path computes it: nil when the significant digits overflow a
    /// `UInt64` or the result does not fit `T`.
    private static func truncatedDecimal<T: FixedWidthInteger>(_ text: Substring, as type: T.Type) -> T? {
        let exponentMark = text.firstIndex { $0 == "e" || $0 == "E" }
        var exponent = 0
        if let exponentMark {
            guard let written = Int(text[text.index(after: exponentMark)...]) else { return nil }
            exponent = written
        }
        var mantissa: UInt64 = 0
        var inFraction = false
        for byte in text[..<(exponentMark ?? text.endIndex)].utf8 {
            switch byte {
            case UInt8(ascii: "-"): continue
            case UInt8(ascii: "."): inFraction = true
            default:
                let (times10, overflow1) = mantissa.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                mantissa = sum
                if inFraction { exponent -= 1 }
            }
        }
        return scaled(mantissa, exponent: exponent, negative: text.first == "-")
    }

    private static func scaled<T: FixedWidthInteger>(_ mantissa: UInt64, exponent: Int, negative: Bool) -> T? {
        var value = mantissa
        if exponent < 0 {
            for _ in 0 ..< -exponent where value != 0 { value /= 10 }
        } else {
            for _ in 0..<exponent {
                let (product, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = product
            }
        }
        guard let sized = T(exactly: value) else { return nil }
        guard negative else { return sized }
        guard T.isSigned else { return nil }
        return sized * -1
    }
}
