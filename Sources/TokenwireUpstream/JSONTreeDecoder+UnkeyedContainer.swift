extension JSONTreeDecoder {
    /// The elements of one JSON array, read in order. As in `JSONDecoder`, a decode that
    /// throws does not move past the element, and `decodeNil()` moves past a null only.
    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let document: JSONDocument
        /// The tape index of the next element.
        private var cursor: Int

        private(set) var currentIndex = 0
        let count: Int?

        init(document: JSONDocument, array: Int) {
            self.document = document
            self.cursor = array + 1
            self.count = document[array].start
        }

        var codingPath: [any CodingKey] { [] }
        var isAtEnd: Bool { currentIndex >= count! }

        /// A decoder for the current element; throws `valueNotFound` at the end.
        private func current<T>(_ type: T.Type) throws -> JSONTreeDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, DecodingError.Context(codingPath: [], debugDescription: "the array has no more elements"))
            }
            return JSONTreeDecoder(document: document, node: cursor)
        }

        private mutating func advance() {
            cursor = document[cursor].next(after: cursor)
            currentIndex += 1
        }

        /// Decodes the current element with `read`, then moves past it.
        private mutating func next<T>(_ type: T.Type, _ read: (JSONTreeDecoder) throws -> T) throws -> T {
            let value = try read(try current(type))
            advance()
            return value
        }

        mutating func decodeNil() throws -> Bool {
            guard try current(Never.self).decodeNil() else { return false }
            advance()
            return true
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.decode(type) } }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.decode(type) } }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type) { try $0.decode(type) } }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next(KeyedDecodingContainer<NestedKey>.self) { try $0.container(keyedBy: type) }
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try next((any UnkeyedDecodingContainer).self) { try $0.unkeyedContainer() }
        }

        mutating func superDecoder() throws -> any Decoder {
            try next((any Decoder).self) { $0 }
        }
    }
}
