import Testing
import TokenwireWire

@Suite("grpc-message percent-encoding")
struct GRPCStatusMessageTests {
    static let interopMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

    @Test func interopMessageEncodesAsTheSpecSays() {
        #expect(
            GRPCStatusMessage.percentEncode(Self.interopMessage)
                == "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A"
        )
    }

    @Test(
        "Messages round-trip",
        arguments: [
            interopMessage, "", "plain ASCII stays", "100% sure", "%", "%%25",
            "~!@#$^&*()_+`-={}|[]\\:\";'<>?,./", "\u{7F}\u{0}",
        ]
    )
    func messageRoundTrips(message: String) {
        #expect(GRPCStatusMessage.percentDecode(GRPCStatusMessage.percentEncode(message)) == message)
    }

    @Test func percentLiteralIsEncoded() {
        #expect(GRPCStatusMessage.percentEncode("100% sure") == "100%25 sure")
    }

    @Test func plainASCIIIsLeftAlone() {
        #expect(GRPCStatusMessage.percentEncode("no such model: a/b") == "no such model: a/b")
    }

    @Test(
        "Bad percent sequences are kept literally",
        arguments: [("50% off", "50% off"), ("%zz", "%zz"), ("%4", "%4"), ("%", "%"), ("a%2", "a%2"), ("%%41", "%A")]
    )
    func badSequenceIsKeptLiterally(value: String, expected: String) {
        #expect(GRPCStatusMessage.percentDecode(value) == expected)
    }

    @Test func lowerCaseHexDecodes() {
        #expect(GRPCStatusMessage.percentDecode("%e2%98%ba") == "☺")
    }

    @Test func invalidUTF8DecodesAsReplacementCharacter() {
        #expect(GRPCStatusMessage.percentDecode("bad %FF byte") == "bad \u{FFFD} byte")
    }
}
