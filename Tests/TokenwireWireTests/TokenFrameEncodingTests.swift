import NIOCore
import Testing
import TokenwireCore
@testable import TokenwireWire

/// Text and reasoning frames are encoded by hand (`TokenFrame.encode`), every other frame by
/// protobuf-c: the hand-written bytes must be protobuf-c's, byte for byte, for every seq,
/// index and string, and decode back to the same frame.
@Suite("TokenFrame encoding: the direct text path writes protobuf-c's bytes")
struct TokenFrameEncodingTests {
    static let seqs: [UInt64] = [0, 1, 2, 127, 128, 300, 16_383, 16_384, 1 << 35, UInt64.max - 1, UInt64.max]
    static let indexes: [UInt32] = [0, 1, 127, 128, 70_000, UInt32.max]
    static let strings: [String] = [
        "", "a", " the", "héllo wörld", "日本語のテキスト", "emoji 👩‍👩‍👧‍👦 and more", "a\u{0}b", "\u{0}",
        String(repeating: "x", count: 127), String(repeating: "y", count: 128), String(repeating: "z", count: 20_000),
    ]

    func bytes(_ frame: TokenFrame, direct: Bool) -> [UInt8] {
        var buffer = ByteBuffer()
        if direct { frame.encode(into: &buffer) } else { frame.encodeWithProtobufC(into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: [false, true])
    func directEncodingOfStringEventsIsProtobufCsBytesAndDecodesBack(reasoning: Bool) throws {
        for seq in Self.seqs {
            for index in Self.indexes {
                for string in Self.strings {
                    let frame = TokenFrame(seq: seq, index: index, event: reasoning ? .reasoning(string) : .text(string))
                    let direct = bytes(frame, direct: true)
                    #expect(direct == bytes(frame, direct: false), "seq \(seq) index \(index) \(string.prefix(20).debugDescription)")
                    #expect(try TokenFrame(decoding: ByteBuffer(bytes: direct)) == frame)
                }
            }
        }
    }

    @Test func aStringFromASubstringOrBridgedStorageEncodesTheSame() throws {
        // Strings not in native contiguous storage of their own still count their UTF-8.
        let long = "prefix " + String(repeating: "ü", count: 300)
        let sliced = String(long.dropFirst(7))
        let frame = TokenFrame(seq: 9, index: 0, event: .text(sliced))
        #expect(bytes(frame, direct: true) == bytes(frame, direct: false))
    }

    @Test func otherEventsStillGoThroughProtobufC() {
        let frames = [
            TokenFrame(seq: 1, index: 0, event: .start(StreamStart(streamID: "s", model: "m", provider: "p"))),
            TokenFrame(seq: 2, index: 3, event: .heartbeat),
            TokenFrame(seq: 3, index: 0, event: nil),
        ]
        for frame in frames {
            #expect(bytes(frame, direct: true) == bytes(frame, direct: false))
        }
    }
}
