/// Finds line terminators in raw bytes a word at a time.
///
/// SSE and NDJSON lines end only at the ASCII bytes CR (0x0D) and LF (0x0A); both are below
/// 0x80, so they never occur inside a multi-byte UTF-8 sequence and the scan can run on bytes
/// before any decoding. Eight bytes are tested per step with the "has a zero byte" bit trick
/// (Hacker's Delight §6-1): the lowest flagged byte is always a true match, which is all a
/// first-match search needs.
enum LineEndScanner {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let lineFeeds: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
    private static let carriageReturns: UInt64 = 0x0D0D_0D0D_0D0D_0D0D

    /// The offset of the first CR or LF in `base[start..<end]`, or nil.
    @inline(__always)
    static func firstCROrLF(in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int? {
        var offset = start
        while offset &+ 8 <= end {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let mask = zeroBytes(word ^ lineFeeds) | zeroBytes(word ^ carriageReturns)
            if mask != 0 { return offset &+ (mask.trailingZeroBitCount &>> 3) }
            offset &+= 8
        }
        while offset < end {
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            if byte == 0x0A || byte == 0x0D { return offset }
            offset &+= 1
        }
        return nil
    }

    /// The offset of the first LF in `base[start..<end]`, or nil.
    @inline(__always)
    static func firstLF(in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int? {
        var offset = start
        while offset &+ 8 <= end {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let mask = zeroBytes(word ^ lineFeeds)
            if mask != 0 { return offset &+ (mask.trailingZeroBitCount &>> 3) }
            offset &+= 8
        }
        while offset < end {
            if base.load(fromByteOffset: offset, as: UInt8.self) == 0x0A { return offset }
            offset &+= 1
        }
        return nil
    }

    /// High bit set in each byte of `word` that is zero (exact for the lowest such byte).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highBits
    }
}
