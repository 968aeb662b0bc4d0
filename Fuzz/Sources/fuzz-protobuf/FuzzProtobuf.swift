import FuzzSupport
import NIOCore
import TokenwireCore
import TokenwireWire

/// Whether a request carries a NaN temperature (NaN != NaN, so value equality fails).
func hasNaN(_ request: GenerateRequest) -> Bool { request.temperature?.isNaN ?? false }
func hasNaN(_ request: BatchRequest) -> Bool { request.items.contains(where: hasNaN) }
func hasNaN(_ request: HealthCheckRequest) -> Bool { false }

/// Decodes `bytes` as `Message`; if that works, encodes the value, decodes it again and
/// requires the same value (and encodes once more, requiring the same bytes).
func roundTrip<Message: WireMessage & Equatable>(
    _ type: Message.Type,
    _ bytes: ArraySlice<UInt8>,
    hasNaN: (Message) -> Bool
) {
    guard let first = try? Message(decoding: ByteBuffer(bytes: bytes)) else { return }
    var encoded = ByteBuffer()
    first.encode(into: &encoded)
    let second: Message
    do {
        second = try Message(decoding: encoded)
    } catch {
        fuzzRequire(false, "\(Message.self) \(first) encoded to bytes it cannot decode: \(error)")
        return
    }
    fuzzRequire(second == first || hasNaN(first), "\(Message.self) \(first) came back as \(second)")
    var reencoded = ByteBuffer()
    second.encode(into: &reencoded)
    fuzzRequire(reencoded == encoded, "\(Message.self) \(first) encoded differently the second time")
}

/// The protobuf-c request decoders: the first byte chooses GenerateRequest, BatchRequest
/// or HealthCheckRequest, the rest is the message body. Invariant: what decodes survives
/// an encode and decode unchanged, and encodes to the same bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobuf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let selector = input.byte() % 3
    let body = input.rest
    switch selector {
    case 0: roundTrip(GenerateRequest.self, body, hasNaN: hasNaN)
    case 1: roundTrip(BatchRequest.self, body, hasNaN: hasNaN)
    default: roundTrip(HealthCheckRequest.self, body, hasNaN: hasNaN)
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_protobuf_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzProtobuf($0, $1) }
}
