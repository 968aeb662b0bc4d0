/// A `Decoder` over one node of a parsed `JSONDocument`: the dialects' `Decodable` wire
/// types decode through it as they did through Foundation's `JSONDecoder`, with the same
/// results for every type they use.
///
/// Rules kept from `JSONDecoder` (swift-foundation, default strategies):
/// - `decodeIfPresent` gives nil for a missing key and for `null`; a present value of the
///   wrong type throws. Keys match exactly; when a key repeats, the first one wins.
/// - Strings, booleans and `null` decode only from themselves (no `"1"` as a number, no `1`
///   as a `Bool`).
/// - Integers and floating-point numbers convert as `JSONDocument.integer(at:)` and
///   `JSONDocument.floatingPoint(at:)` describe.
///
/// Not kept: `codingPath` is always empty (the dialects map every failure to one
/// "malformed JSON" error, and tracking the path costs on every value), `userInfo` is
/// empty, and `Date`, `Data`, `URL` and `Decimal` get no special treatment (no dialect
/// decodes them).
struct JSONTreeDecoder: Decoder, SingleValueDecodingContainer {
    /// The document.
    let document: JSONDocument
    /// The tape index of the value this decoder reads.
    let node: Int

    /// Decodes the root value of `document` as `T`.
    ///
    /// - Throws: `DecodingError` when the JSON does not have `T`'s shape.
    static func decode<T: Decodable>(_ type: T.Type, from document: JSONDocument) throws -> T {
        try T(from: JSONTreeDecoder(document: document, node: 0))
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard document[node].kind == .object else { throw mismatch([String: Any].self) }
        return KeyedDecodingContainer(KeyedContainer<Key>(document: document, object: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard document[node].kind == .array else { throw mismatch([Any].self) }
        return UnkeyedContainer(document: document, array: node)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Single value

    func decodeNil() -> Bool { document[node].kind == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        switch document[node].kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(type)
        }
    }

    func decode(_ type: String.Type) throws -> String {
        guard let string = document.string(at: node) else { throw mismatch(type) }
        return string
    }

    func decode(_ type: Double.Type) throws -> Double { try floatingPoint() }
    func decode(_ type: Float.Type) throws -> Float { try floatingPoint() }
    func decode(_ type: Int.Type) throws -> Int { try integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: self)
    }

    // MARK: Helpers

    private func integer<T: FixedWidthInteger>() throws -> T {
        guard let value = document.integer(at: node, as: T.self) else { throw mismatch(T.self) }
        return value
    }

    private func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>() throws -> T {
        guard let value = document.floatingPoint(at: node, as: T.self) else { throw mismatch(T.self) }
        return value
    }

    /// The error for a value that is not a `type` (a null included).
    func mismatch(_ type: Any.Type) -> DecodingError {
        let description = "expected \(type), found \(document[node].kind)"
        if document[node].kind == .null {
            return .valueNotFound(type, DecodingError.Context(codingPath: [], debugDescription: description))
        }
        return .typeMismatch(type, DecodingError.Context(codingPath: [], debugDescription: description))
    }
}
