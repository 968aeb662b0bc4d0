import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

@Suite("gRPC message deframing")
struct GRPCMessageDeframerTests {
    /// Three messages: a request, an empty message, and a frame.
    static let bodies: [ByteBuffer] = {
        var request = ByteBuffer()
        GenerateRequest(model: "synthetic/flood", maxTokens: 1000).encode(into: &request)
        var frame = ByteBuffer()
        TokenFrame(seq: 2, event: .text("fox ")).encode(into: &frame)
        return [request, ByteBuffer(), frame]
    }()

    static var stream: ByteBuffer {
        var stream = ByteBuffer()
        for body in bodies {
            stream.writeInteger(UInt8(0))
            stream.writeInteger(UInt32(body.readableBytes))
            stream.writeImmutableBuffer(body)
        }
        return stream
    }

    @Test func splitAtEveryByteOffsetYieldsTheSameMessages() throws {
        let stream = Self.stream
        for offset in 0...stream.readableBytes {
            var deframer = GRPCMessageDeframer()
            var messages: [ByteBuffer] = []
            deframer.append(stream.getSlice(at: 0, length: offset)!)
            while let message = try deframer.next() { messages.append(message) }
            deframer.append(stream.getSlice(at: offset, length: stream.readableBytes - offset)!)
            while let message = try deframer.next() { messages.append(message) }
            #expect(messages == Self.bodies, "split at \(offset)")
            #expect(!deframer.isInsideMessage)
            #expect(deframer.bufferedBytes == 0)
        }
    }

    @Test func oneByteAtATimeYieldsTheSameMessages() throws {
        let stream = Self.stream
        var deframer = GRPCMessageDeframer()
        var messages: [ByteBuffer] = []
        for offset in 0..<stream.readableBytes {
            deframer.append(stream.getSlice(at: offset, length: 1)!)
            while let message = try deframer.next() { messages.append(message) }
        }
        #expect(messages == Self.bodies)
    }

    @Test func severalMessagesInOneAppendComeOutInOrder() throws {
        var deframer = GRPCMessageDeframer()
        deframer.append(Self.stream)
        #expect(try deframer.next() == Self.bodies[0])
        #expect(try deframer.next() == Self.bodies[1])
        #expect(try deframer.next() == Self.bodies[2])
        #expect(try deframer.next() == nil)
    }

    @Test func oversizedMessageIsRejectedBeforeItsBodyArrives() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100)
        deframer.append(ByteBuffer(hex: "00 000000"))
        #expect(try deframer.next() == nil)
        deframer.append(ByteBuffer(hex: "65"))  // length 101
        let expected = TokenwireError.resourceExhausted("message of 101 bytes exceeds the receive limit of 100 bytes")
        #expect(throws: expected) {
            try deframer.next()
        }
        deframer.append(ByteBuffer(repeating: 0, count: 101))
        #expect(deframer.bufferedBytes == 0)
        #expect(throws: TokenwireError.self) { try deframer.next() }
    }

    @Test func messageOfExactlyTheLimitIsAccepted() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 3)
        deframer.append(ByteBuffer(hex: "00 00000003 616263"))
        #expect(try deframer.next() == ByteBuffer(string: "abc"))
    }

    @Test func compressedMessageWithoutAnEncodingIsUnimplemented() {
        var deframer = GRPCMessageDeframer()
        deframer.append(ByteBuffer(hex: "01 00000001 00"))
        #expect(
            throws: TokenwireError.unimplemented(
                "message is compressed but the call named no grpc-encoding "
                    + "(send grpc-encoding: gzip with compressed messages, or send them uncompressed)"
            )
        ) { try deframer.next() }
    }

    @Test func compressedMessageOfACallWithAnEncodingComesOutMarkedCompressed() throws {
        var deframer = GRPCMessageDeframer(acceptsCompressed: true)
        deframer.append(ByteBuffer(hex: "01 00000002 1f8b 00 00000001 61"))
        let compressed = try #require(try deframer.nextMessage())
        #expect(compressed.isCompressed && compressed.body == ByteBuffer(hex: "1f8b"))
        let plain = try #require(try deframer.nextMessage())
        #expect(!plain.isCompressed && plain.body == ByteBuffer(string: "a"))
    }

    @Test func invalidCompressedFlagIsInternal() {
        var deframer = GRPCMessageDeframer()
        deframer.append(ByteBuffer(hex: "07 00000001 00"))
        #expect(throws: TokenwireError.internal("invalid compressed-flag byte 0x07 in message prefix")) {
            try deframer.next()
        }
    }

    @Test func errorMessagesBeforeTheBadPrefixAreStillDelivered() throws {
        var deframer = GRPCMessageDeframer()
        deframer.append(ByteBuffer(hex: "00 00000001 61  02 00000000"))
        #expect(try deframer.next() == ByteBuffer(string: "a"))
        #expect(throws: TokenwireError.self) { try deframer.next() }
    }

    @Test func partialMessageLeavesTheDeframerInsideAMessage() throws {
        var deframer = GRPCMessageDeframer()
        #expect(!deframer.isInsideMessage)
        deframer.append(ByteBuffer(hex: "00 0000"))
        #expect(try deframer.next() == nil)
        #expect(deframer.isInsideMessage)
        #expect(deframer.bufferedBytes == 3)
        deframer.append(ByteBuffer(hex: "0003 61"))
        #expect(try deframer.next() == nil)
        #expect(deframer.isInsideMessage)
        #expect(deframer.bufferedBytes == 1)
        deframer.append(ByteBuffer(hex: "6263"))
        #expect(try deframer.next() == ByteBuffer(string: "abc"))
        #expect(!deframer.isInsideMessage)
    }

    @Test func prefixAnnouncingABodyIsInsideAMessageWithNothingBuffered() throws {
        var deframer = GRPCMessageDeframer()
        deframer.append(ByteBuffer(hex: "00 00000004"))
        #expect(try deframer.next() == nil)
        #expect(deframer.isInsideMessage)
        #expect(deframer.bufferedBytes == 0)
    }
}
