internal import CTokenwireProto
public import NIOCore
public import TokenwireCore

extension BatchRequest: WireMessage {
    /// Appends the `tokenwire.v1.BatchRequest` encoding of the request to `buffer`.
    /// - Parameter buffer: The buffer to write into.
    public func encode(into buffer: inout ByteBuffer) {
        ProtobufCArena.with { arena in
            let message = arena.message(Tokenwire__V1__BatchRequest.self) { tokenwire__v1__batch_request__init($0) }
            message.pointee.n_items = items.count
            message.pointee.items = arena.pointerArray(of: Tokenwire__V1__GenerateRequest.self, count: items.count)
            for (position, item) in items.enumerated() {
                message.pointee.items[position] = item.cMessage(in: &arena)
            }
            message.pointee.max_concurrency = maxConcurrency
            ProtobufCCodec.write(
                packedSize: tokenwire__v1__batch_request__get_packed_size(message),
                into: &buffer
            ) { tokenwire__v1__batch_request__pack(message, $0) }
        }
    }

    /// Decodes a `tokenwire.v1.BatchRequest`.
    /// - Parameter bytes: One whole message body.
    /// - Throws: `.invalidArgument` when the bytes are not a valid `BatchRequest`, or
    ///   carry more elements than `RequestShapeLimits` allows.
    public init(decoding bytes: ByteBuffer) throws(TokenwireError) {
        try RequestShapeLimits.checkBatchRequest(bytes)
        self = try ProtobufCCodec.read(
            bytes,
            messageName: "tokenwire.v1.BatchRequest",
            direction: .request,
            unpack: { tokenwire__v1__batch_request__unpack(nil, $0, $1) },
            free: { tokenwire__v1__batch_request__free_unpacked($0, nil) },
            read: { message in
                let message = message.pointee
                var items: [GenerateRequest] = []
                items.reserveCapacity(message.n_items)
                for position in 0..<message.n_items {
                    guard let item = message.items[position] else { continue }
                    items.append(GenerateRequest(cMessage: item.pointee))
                }
                return BatchRequest(items: items, maxConcurrency: message.max_concurrency)
            }
        )
    }
}
