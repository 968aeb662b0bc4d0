/// The W3C trace context (https://www.w3.org/TR/trace-context/) of the call being served,
/// from its `traceparent` and `tracestate` metadata: a provider that makes an upstream
/// request passes both on as headers, so the caller's trace continues there, and the
/// call's log line names the trace.
public struct TraceContext: Sendable, Hashable {
    /// `version-traceid-parentid-flags`, lowercase hex, as the caller sent it.
    public var traceparent: String
    /// The vendors' entries, if the caller sent any.
    public var tracestate: String?

    /// The call being served's trace context; nil when it sent none (or a malformed one).
    @TaskLocal public static var current: TraceContext?

    /// The most of `tracestate` passed on: the specification's limit of 32 entries comes to
    /// at most 512 characters in practice; a longer one is dropped rather than cut.
    public static let maxTraceStateLength = 512

    /// The trace context in `metadata`, or nil when `traceparent` is absent or malformed
    /// (the specification says to ignore a traceparent that does not parse; the tracestate
    /// then goes too).
    public init?(metadata: [(name: String, value: String)]) {
        guard let parent = metadata.first(where: { $0.name == "traceparent" })?.value, Self.isValid(traceparent: parent),
            Self.isHeaderSafe(parent)
        else {
            return nil
        }
        self.traceparent = parent
        let states = metadata.filter { $0.name == "tracestate" }.map(\.value)
        let state = states.joined(separator: ",")
        self.tracestate = states.isEmpty || state.utf8.count > Self.maxTraceStateLength || !Self.isHeaderSafe(state) ? nil : state
    }

    public init(traceparent: String, tracestate: String? = nil) {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// `00-<32 hex>-<16 hex>-<2 hex>` (or a later version's longer form, which starts the
    /// same way), neither id all zeros, version not `ff`.
    static func isValid(traceparent: String) -> Bool {
        let bytes = Array(traceparent.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else {
            return false
        }
        if bytes.count > 55, bytes[55] != UInt8(ascii: "-") || bytes[0...1] == [UInt8(ascii: "0"), UInt8(ascii: "0")] { return false }
        func hex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        }
        func zeros(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == UInt8(ascii: "0") } }
        guard hex(0..<2), hex(3..<35), hex(36..<52), hex(53..<55) else { return false }
        return bytes[0...1] != [UInt8(ascii: "f"), UInt8(ascii: "f")] && !zeros(3..<35) && !zeros(36..<52)
    }

    /// Printable ASCII only: a header cannot carry control characters.
    private static func isHeaderSafe(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
    }
}
