import Foundation
import FuzzSupport
import TokenwireRelay

/// The relay configuration reader (`RelayConfiguration.parse`, the entry point of
/// `load(path:)` without the file): arbitrary bytes as the configuration file's JSON.
/// Invariant: it returns a configuration or throws `RelayConfigurationError`, nothing else.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRelayConfiguration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    do {
        _ = try RelayConfiguration.parse(Data(input.bytes), path: "fuzz.json")
    } catch {
        fuzzRequire(!error.description.isEmpty, "an empty error message")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_relay_config_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzRelayConfiguration($0, $1) }
}
