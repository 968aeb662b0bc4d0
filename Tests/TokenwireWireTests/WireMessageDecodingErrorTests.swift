import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

@Suite("Decoding bytes that are not protobuf")
struct WireMessageDecodingErrorTests {
    /// Byte strings no protobuf message accepts.
    static let garbage: [String] = [
        "0a05 61",  // field 1, length 5, but only 1 byte follows
        "0f",  // wire type 7 does not exist
        "08ff",  // a varint cut off mid-way
        "ffffffffffffffffffffff",  // a tag varint longer than 10 bytes
    ]

    @Test("Garbage is rejected as invalidArgument for every message", arguments: garbage)
    func garbageThrowsInvalidArgumentNamingTheMessage(hex: String) {
        let bytes = ByteBuffer(hex: hex)
        let count = bytes.readableBytes
        expectInvalid(GenerateRequest.self, "the request is not a valid tokenwire.v1.GenerateRequest", bytes, count)
        expectInvalid(BatchRequest.self, "the request is not a valid tokenwire.v1.BatchRequest", bytes, count)
        expectInvalid(TokenFrame.self, "the response is not a valid tokenwire.v1.TokenFrame", bytes, count)
        expectInvalid(Completion.self, "the response is not a valid tokenwire.v1.Completion", bytes, count)
        expectInvalid(
            HealthCheckRequest.self, "the request is not a valid grpc.health.v1.HealthCheckRequest", bytes, count)
        expectInvalid(
            HealthCheckResponse.self, "the response is not a valid grpc.health.v1.HealthCheckResponse", bytes, count)
    }

    @Test func errorMessageNamesTheTypeAndByteCount() {
        let bytes = ByteBuffer(hex: "0a10 " + String(repeating: "61", count: 15))  // 17 bytes, one short
        #expect(throws: TokenwireError.invalidArgument(
            "the request is not a valid tokenwire.v1.GenerateRequest (17 bytes of protobuf could not be parsed)"
        )) {
            try GenerateRequest(decoding: bytes)
        }
    }

    @Test func truncatedNestedMessageIsRejected() {
        var buffer = ByteBuffer()
        TokenFrame(seq: 1, event: .start(StreamStart(streamID: "id", model: "m", provider: "p"))).encode(into: &buffer)
        let truncated = buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!
        #expect(throws: TokenwireError.self) { try TokenFrame(decoding: truncated) }
    }

    private func expectInvalid<Message: WireMessage>(
        _ type: Message.Type,
        _ expectedPrefix: String,
        _ bytes: ByteBuffer,
        _ count: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try Message(decoding: bytes)
            Issue.record("\(Message.self) decoded garbage", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .invalidArgument, sourceLocation: sourceLocation)
            #expect(
                error.message == "\(expectedPrefix) (\(count) bytes of protobuf could not be parsed)",
                sourceLocation: sourceLocation
            )
        }
    }
}
