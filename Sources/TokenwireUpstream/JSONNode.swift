/// One entry of a `JSONDocument`'s tape: a value, or an object key, in document order.
///
/// Containers are followed by their members (objects: key, value, key, value, ...), so a
/// container's subtree is the run of nodes up to `end`, and a reader can skip it in O(1).
/// Strings and numbers are not converted at parse time: they keep the byte range of their
/// text in the source, and are converted only if a decoder asks for them.
struct JSONNode {
    /// What a node is.
    enum Kind: UInt8 {
        case null, `true`, `false`, number, string, array, object
    }

    /// The node's kind.
    var kind: Kind
    /// `Flags` bits.
    var flags: UInt8
    /// Strings: the first byte after the opening quote; numbers: the first byte.
    /// Containers: the number of elements (arrays) or members (objects).
    var start: Int
    /// Strings: the closing quote; numbers: one past the last byte.
    /// Containers: the tape index just past the container's last descendant.
    var end: Int
    /// Numbers with `Flags.fitsInt64`: the value's bit pattern. Strings with
    /// `Flags.escaped`: the index of the unescaped text in `JSONDocument.unescapedStrings`.
    /// Object keys without escapes: their first eight bytes, packed (`JSONNode.packedPrefix`).
    var payload: UInt64

    /// Bits of `JSONNode.flags`.
    enum Flags {
        /// A string containing a backslash escape: its text is in the unescaped strings.
        static let escaped: UInt8 = 1
        /// A number written as an integer (no fraction, no exponent).
        static let integer: UInt8 = 2
        /// An integer whose value fits `Int64` and is in `payload` (never `-0`).
        static let fitsInt64: UInt8 = 4
    }

    init(kind: Kind, flags: UInt8 = 0, start: Int = 0, end: Int = 0, payload: UInt64 = 0) {
        self.kind = kind
        self.flags = flags
        self.start = start
        self.end = end
        self.payload = payload
    }

    /// The tape index of the node after this one and its descendants, given its own index.
    @inline(__always)
    func next(after index: Int) -> Int {
        kind == .array || kind == .object ? end : index + 1
    }

    /// The first up-to-eight bytes of a byte sequence packed little-endian into a `UInt64`,
    /// used to reject most non-matching object keys without comparing their bytes.
    @inline(__always)
    static func packedPrefix(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var packed: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            packed |= UInt64(byte) << shift
            shift += 8
            if shift == 64 { break }
        }
        return packed
    }
}
