import Foundation
import Testing

/// The recorded provider streams in `Fixtures/` (see `Fixtures/README.md` for provenance).
enum Fixture {
    static let sseNames = [
        "anthropic-error-midstream.sse",
        "anthropic-text-ping-no-final-blank-line.sse",
        "anthropic-thinking.sse",
        "anthropic-tool-use.sse",
        "cohere-v2-parallel-toolcalls.reframed.sse",
        "gemini-thought-functioncall-crlf.sse",
        "mistral-parallel-toolcalls.sse",
        "openai-chat-error-midstream.sse",
        "openai-chat-length.sse",
        "openai-chat-n3-choices.sse",
        "openai-chat-parallel-toolcalls.sse",
        "openai-chat-refusal.sse",
        "openai-chat-text-usage.sse",
        "openai-responses-error-failed.sse",
        "openai-responses-text.sse",
        "openai-responses-toolcall.sse",
        "tgi-chat-length-usage.reframed.sse",
        "wpt-data-before-final-empty-line.sse",
    ]

    static let ndjsonNames = [
        "ollama-chat-text.ndjson",
        "ollama-generate-error-midstream.ndjson",
    ]

    /// The bytes of a fixture, by file name.
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            "fixture \(name) is missing from the test bundle"
        )
        return [UInt8](try Data(contentsOf: url))
    }
}

/// Ways to cut a body into reads.
enum Reads {
    /// The body cut once at `offset` (either read may be empty).
    static func split(_ bytes: [UInt8], at offset: Int) -> [ArraySlice<UInt8>] {
        [bytes[..<offset], bytes[offset...]]
    }

    /// The body one byte per read.
    static func byteByByte(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.indices.map { bytes[$0...$0] }
    }

    /// The body in reads of `size` bytes.
    static func chunks(_ bytes: [UInt8], size: Int) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
    }
}
