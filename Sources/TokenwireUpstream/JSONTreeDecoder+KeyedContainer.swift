extension JSONTreeDecoder {
    /// The members of one JSON object, looked up by key on demand (no dictionary is built:
    /// objects in provider events are small, and most of their members are never read).
    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let document: JSONDocument
        /// The tape index of the object.
        let object: Int

        var codingPath: [any CodingKey] { [] }

        var allKeys: [Key] {
            document.keys(of: object).compactMap { Key(stringValue: $0) }
        }

        func contains(_ key: Key) -> Bool {
            document.member(named: key.stringValue, in: object) != nil
        }

        /// A decoder for the key's value; throws `keyNotFound` if there is none.
        private func decoder(forKey key: Key) throws -> JSONTreeDecoder {
            guard let node = document.member(named: key.stringValue, in: object) else {
                throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: [], debugDescription: "no member \(key.stringValue)"))
            }
            return JSONTreeDecoder(document: document, node: node)
        }

        /// A decoder for the key's value, or nil if the key is missing or its value is null.
        private func decoderIfPresent(forKey key: Key) -> JSONTreeDecoder? {
            guard let node = document.member(named: key.stringValue, in: object),
                document[node].kind != .null
            else { return nil }
            return JSONTreeDecoder(document: document, node: node)
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            try decoder(forKey: key).decodeNil()
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(forKey: key).decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(forKey: key).decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(forKey: key).decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder(forKey: key).decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(forKey: key).decode(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(forKey: key).decode(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(forKey: key).decode(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(forKey: key).decode(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(forKey: key).decode(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(forKey: key).decode(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(forKey: key).decode(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(forKey: key).decode(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(forKey: key).decode(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(forKey: key).decode(type) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder(forKey: key).decode(type) }

        // One lookup each, where the protocol's defaults would look the key up three times.
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decoderIfPresent(forKey: key)?.decode(type) }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try decoderIfPresent(forKey: key)?.decode(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try decoder(forKey: key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try decoder(forKey: key).unkeyedContainer()
        }

        /// As `JSONDecoder`: a decoder for the value of the key `"super"`.
        func superDecoder() throws -> any Decoder {
            guard let node = document.member(named: "super", in: object) else {
                throw DecodingError.keyNotFound(JSONTreeDecoder.SuperKey(), DecodingError.Context(codingPath: [], debugDescription: "no member super"))
            }
            return JSONTreeDecoder(document: document, node: node)
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            try decoder(forKey: key)
        }
    }

    /// The key `"super"`, for `superDecoder()`.
    struct SuperKey: CodingKey {
        var stringValue: String { "super" }
        var intValue: Int? { nil }
        init() {}
        init?(stringValue: String) { nil }
        init?(intValue: Int) { nil }
    }
}
