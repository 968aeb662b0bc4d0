import Testing
import TokenwireWire

@Suite("grpc-timeout header")
struct GRPCTimeoutTests {
    static let valid: [(String, Duration)] = [
        ("1H", .seconds(3600)),
        ("2M", .seconds(120)),
        ("3S", .seconds(3)),
        ("4m", .milliseconds(4)),
        ("5u", .microseconds(5)),
        ("6n", .nanoseconds(6)),
        ("0S", .zero),
        ("00000007m", .milliseconds(7)),
        ("99999999H", .seconds(99_999_999 * 3600)),
    ]

    @Test("Every unit parses", arguments: valid)
    func everyUnitParses(value: String, expected: Duration) {
        #expect(GRPCTimeout.parse(value) == expected)
    }

    @Test(
        "Malformed values are rejected",
        arguments: ["123456789S", "100", "", "S", "1s", "1h", "-1S", "+1S", " 1S", "1S ", "1.5S", "1SS", "١S", "1 S"]
    )
    func malformedValueIsRejected(value: String) {
        #expect(GRPCTimeout.parse(value) == nil)
    }

    @Test(
        "Encoding picks the finest unit that fits in 8 digits, rounding up",
        arguments: [
            (Duration.nanoseconds(1), "1n"),
            (.nanoseconds(99_999_999), "99999999n"),
            (.nanoseconds(100_000_001), "100001u"),
            (.milliseconds(100), "100000u"),
            (.seconds(1), "1000000u"),
            (.seconds(30), "30000000u"),
            (.seconds(100), "100000m"),
            (.seconds(100_000), "100000S"),
            (.seconds(100_000_000), "1666667M"),
            (.seconds(6_000_000_000), "1666667H"),
            (.seconds(1_000_000_000_000), "99999999H"),
            (.zero, "0n"),
            (.seconds(-5), "0n"),
        ]
    )
    func encodeChoosesUnit(duration: Duration, expected: String) {
        #expect(GRPCTimeout.encode(duration) == expected)
    }

    @Test func positiveDurationNeverEncodesAsZero() {
        let tiny = Duration(secondsComponent: 0, attosecondsComponent: 1)
        #expect(GRPCTimeout.encode(tiny) == "1n")
    }

    @Test(
        "Encode then parse never shortens the deadline by a unit or more",
        arguments: [
            Duration.nanoseconds(12345), .microseconds(123_456_789), .milliseconds(1500),
            .seconds(59), .seconds(3601), .seconds(7 * 86400) + .nanoseconds(1),
        ]
    )
    func encodeParseRoundTripsWithinOneUnit(duration: Duration) throws {
        let encoded = GRPCTimeout.encode(duration)
        let parsed = try #require(GRPCTimeout.parse(encoded))
        #expect(parsed >= duration)
        let unit: Duration = switch encoded.last! {
        case "n": .nanoseconds(1)
        case "u": .microseconds(1)
        case "m": .milliseconds(1)
        case "S": .seconds(1)
        case "M": .seconds(60)
        default: .seconds(3600)
        }
        #expect(parsed - duration < unit)
        #expect(GRPCTimeout.encode(parsed) == encoded)
    }
}
