import NIOCore
import Testing
import TokenwireCore
import TokenwireWire

@Suite("gRPC message framing")
struct GRPCMessageFramerTests {
    @Test func framedFloodRequestMatchesTheBytesOtherGRPCStacksSend() {
        // /work/shared/peers/bodies/gen1000.bin, as written by Python's protobuf.
        var buffer = ByteBuffer()
        GRPCMessageFramer.appendMessage(GenerateRequest(model: "synthetic/flood", maxTokens: 1000), to: &buffer)
        #expect(buffer.hexString == "00" + "00000014" + "0a0f" + "73796e7468657469632f666c6f6f64" + "18e807")
    }

    @Test func emptyMessageIsJustAPrefix() {
        var buffer = ByteBuffer()
        GRPCMessageFramer.appendMessage(HealthCheckRequest(), to: &buffer)
        #expect(buffer.hexString == "0000000000")
    }

    @Test func messagesAppendBackToBackAndDeframeAgain() throws {
        let frames = (1...3).map { TokenFrame(seq: UInt64($0), event: .text(String(repeating: "x", count: $0 * 100))) }
        var buffer = ByteBuffer(string: "ignored")
        buffer.moveReaderIndex(forwardBy: 7)
        for frame in frames {
            GRPCMessageFramer.appendMessage(frame, to: &buffer)
        }
        var deframer = GRPCMessageDeframer()
        deframer.append(buffer)
        var decoded: [TokenFrame] = []
        while let message = try deframer.next() {
            decoded.append(try TokenFrame(decoding: message))
        }
        #expect(decoded == frames)
    }
}
