import FuzzSupport
import TokenwireWire

/// GRPCTimeout: the input as a `grpc-timeout` header value (invalid UTF-8 becomes U+FFFD).
/// Invariants: a parsed timeout is not negative; `encode` of it is a value `parse` accepts
/// and that means the same duration.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGRPCTimeout(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let value = String(decoding: input.bytes, as: UTF8.self)
    guard let duration = GRPCTimeout.parse(value) else { return 0 }
    fuzzRequire(duration >= .zero, "\(value.debugDescription) parsed as the negative \(duration)")
    let encoded = GRPCTimeout.encode(duration)
    let reparsed = GRPCTimeout.parse(encoded)
    fuzzRequire(reparsed == duration, "\(value.debugDescription) → \(duration) → \(encoded.debugDescription) → \(String(describing: reparsed))")
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_grpc_timeout_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzGRPCTimeout($0, $1) }
}
