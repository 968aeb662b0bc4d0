// swift-tools-version:6.0
// libFuzzer targets for Tokenwire's parsers and its HTTP/2 server session (docs/FUZZING.md).
// A package of its own, so the normal build and `swift test` never see the sanitizer flags.
// Build and run with tools/fuzz.sh, which passes `-Xswiftc -sanitize=fuzzer,address`.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which differs between clones
// (CI clones the repository into a folder of its own), so it is read from this file's path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let tokenwire = root.lastPathComponent.lowercased()

/// One libFuzzer executable: `Sources/<name>/` with `LLVMFuzzerTestOneInput`.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + dependencies,
        swiftSettings: [
            .swiftLanguageMode(.v6),
            // The entry points are @_cdecl functions: `<module>_main`, which calls libFuzzer's
            // driver, and LLVMFuzzerTestOneInput.
            .unsafeFlags(["-parse-as-library"]),
        ]
    )
}

func product(_ name: String) -> Target.Dependency {
    .product(name: name, package: tokenwire)
}

let package = Package(
    name: "TokenwireFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Input slicing and the invariant check shared by the targets.
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], swiftSettings: [.swiftLanguageMode(.v6)]),
        // The call into libFuzzer's driver (see its header).
        .target(name: "CFuzzDriver"),
        fuzzTarget("fuzz-sse-parser", [product("TokenwireUpstream")]),
        fuzzTarget("fuzz-ndjson-splitter", [product("TokenwireUpstream")]),
        fuzzTarget("fuzz-json", [product("TokenwireUpstream")]),
        fuzzTarget("fuzz-dialects", [product("TokenwireUpstream")]),
        fuzzTarget("fuzz-deframer", [product("TokenwireWire"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("fuzz-protobuf", [product("TokenwireWire"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("fuzz-grpc-timeout", [product("TokenwireWire")]),
        fuzzTarget("fuzz-relay-config", [product("TokenwireRelay")]),
        fuzzTarget("fuzz-resp", [product("TokenwireRedis"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget(
            "fuzz-http2-server",
            [
                product("TokenwireServer"), product("TokenwireHTTP2"), product("TokenwireProviders"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
