/// Direct, typed reads of one node of a `JSONDocument`, for the hottest dialect path, where
/// the `Decoder` protocol's machinery (container boxes, generic metadata and witness
/// lookups) costs more than the parse itself.
///
/// The rules are `JSONTreeDecoder`'s (and so `JSONDecoder`'s): `member(_:)` is nil for a
/// missing key and for `null`, as `decodeIfPresent` is; a value of the wrong type throws.
/// Anything not worth reading by hand can go through `decode(_:)`, which hands the node
/// to `JSONTreeDecoder`.
struct JSONNodeReader {
    /// The document.
    let document: JSONDocument
    /// The tape index of the node read.
    let node: Int

    /// A reader for the root of `document`.
    init(document: JSONDocument) {
        self.init(document: document, node: 0)
    }

    private init(document: JSONDocument, node: Int) {
        self.document = document
        self.node = node
    }

    /// Whether the node is a string.
    var isString: Bool { document[node].kind == .string }

    /// Throws unless the node is an object (what a keyed container requires).
    func requireObject() throws {
        guard document[node].kind == .object else { throw decoder.mismatch([String: Any].self) }
    }

    /// The value of the member `key` of this object, or nil if it is missing or null.
    ///
    /// - Important: call `requireObject()` first; on anything but an object this is nil.
    func member(_ key: JSONKey) -> JSONNodeReader? {
        guard document[node].kind == .object,
            let value = document.member(key, in: node),
            document[value].kind != .null
        else { return nil }
        return JSONNodeReader(document: document, node: value)
    }

    /// The elements of this array; throws if the node is not an array.
    func elements() throws -> [JSONNodeReader] {
        guard document[node].kind == .array else { throw decoder.mismatch([Any].self) }
        var elements: [JSONNodeReader] = []
        elements.reserveCapacity(document[node].start)
        var cursor = node + 1
        for _ in 0..<document[node].start {
            elements.append(JSONNodeReader(document: document, node: cursor))
            cursor = document[cursor].next(after: cursor)
        }
        return elements
    }

    /// The string; throws if the node is not a string.
    func string() throws -> String {
        guard let string = document.string(at: node) else { throw decoder.mismatch(String.self) }
        return string
    }

    /// The number as an `Int`, by `JSONDecoder`'s rules; throws if it is not one.
    func int() throws -> Int {
        guard let value = document.integer(at: node, as: Int.self) else { throw decoder.mismatch(Int.self) }
        return value
    }

    /// The node decoded as `T` through `JSONTreeDecoder`.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decoder.decode(type)
    }

    private var decoder: JSONTreeDecoder { JSONTreeDecoder(document: document, node: node) }
}
