/// An object key prepared for lookups in a `JSONDocument`: its UTF-8 length and first eight
/// bytes packed as `JSONNode.packedPrefix` packs keys at parse time, so that most
/// non-matching keys are rejected by two integer comparisons.
///
/// Hot paths keep their keys in `static let`s so the preparation happens once.
struct JSONKey: Sendable {
    /// The key.
    let name: String
    /// `name`'s length in UTF-8 bytes.
    let length: Int
    /// `name`'s first eight bytes, packed.
    let prefix: UInt64

    /// Prepares `name` for lookups.
    init(_ name: String) {
        self.name = name
        self.length = name.utf8.count
        self.prefix = JSONNode.packedPrefix(name.utf8)
    }
}
