import CFuzzDriver

/// A fuzz input read front to back: control bytes first (which dialect, where to split),
/// the payload after them. Reading past the end gives zeros, so every input is usable.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next control byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next two control bytes as a big-endian number.
    public mutating func uint16() -> Int {
        Int(byte()) << 8 | Int(byte())
    }

    /// Everything not yet read.
    public var rest: ArraySlice<UInt8> { bytes[min(position, bytes.count)...] }

    /// Reads the split header (one byte: number of cuts, 0–7; then two bytes per cut) and
    /// returns the payload after it with the chunk ranges those cuts make (sorted, covering
    /// the payload, possibly empty chunks).
    public mutating func chunkedPayload() -> (payload: [UInt8], chunks: [Range<Int>]) {
        let cutCount = Int(byte() & 7)
        let rawCuts = (0..<cutCount).map { _ in uint16() }
        let payload = Array(rest)
        return (payload, Self.chunks(count: payload.count, cuts: rawCuts))
    }

    /// Chunk ranges of `0..<count` at the cuts (taken modulo `count + 1`).
    public static func chunks(count: Int, cuts: [Int]) -> [Range<Int>] {
        let offsets = cuts.map { $0 % (count + 1) }.sorted()
        var ranges: [Range<Int>] = []
        var start = 0
        for offset in offsets {
            ranges.append(start..<offset)
            start = offset
        }
        ranges.append(start..<count)
        return ranges
    }
}

/// Traps with `message` when `condition` is false: a broken invariant is a finding, and
/// libFuzzer saves the input that caused it.
public func fuzzRequire(
    _ condition: Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition {
        fatalError("fuzz invariant broken: \(message())", file: file, line: line)
    }
}

/// Runs libFuzzer's driver on `testOneInput` with the process's arguments.
public func fuzzMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    tokenwire_fuzz_run(argc, argv, testOneInput)
}
