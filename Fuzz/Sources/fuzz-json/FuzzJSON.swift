import FuzzSupport
@testable import TokenwireUpstream

/// Decodable shapes like the dialects' wire types: optional and required fields, numbers
/// of several widths, nested objects, arrays and maps.
struct ChunkShape: Decodable {
    struct Choice: Decodable {
        var index: Int
        var delta: [String: JSONValue]?
        var finishReason: String?
        var logprobs: [Double]?

        enum CodingKeys: String, CodingKey {
            case index, delta, logprobs
            case finishReason = "finish_reason"
        }
    }
    var id: String?
    var created: Int64?
    var choices: [Choice]
    var usage: [String: TokenCount]?
    var code: LossyString?
    var flag: Bool?
}

struct NumbersShape: Decodable {
    var a: Int8?
    var b: UInt8?
    var c: Int32?
    var d: UInt64?
    var e: Float?
    var f: Double?
    var g: UInt?
    var h: [Int16]?
}

struct LenientShape: Decodable {
    var content: Lenient<[String]>?
    var arguments: JSONText?
    var nested: [[String: [Int]]]?
}

/// JSONParser and JSONTreeDecoder: UTF-8 text (invalid sequences become U+FFFD) parsed
/// as JSON, then decoded as `JSONValue` and as a few wire-type shapes. Invariant:
/// `JSONValue.jsonText` is JSON that the parser accepts and that writes back identically.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let text = String(decoding: input.bytes, as: UTF8.self)
    guard let document = try? JSONParser.parse(text) else { return 0 }
    _ = try? JSONTreeDecoder.decode(ChunkShape.self, from: document)
    _ = try? JSONTreeDecoder.decode(NumbersShape.self, from: document)
    _ = try? JSONTreeDecoder.decode(LenientShape.self, from: document)
    _ = try? JSONTreeDecoder.decode([TokenCount].self, from: document)
    _ = try? JSONTreeDecoder.decode(JSONText.self, from: document)
    _ = try? JSONTreeDecoder.decode(LossyString.self, from: document)
    _ = try? JSONNodeReader(document: document).member(JSONKey("choices"))?.elements()
    let value: JSONValue
    do {
        value = try JSONTreeDecoder.decode(JSONValue.self, from: document)
    } catch {
        // The decoder refuses only numbers that are out of range for Int64 and Double.
        return 0
    }
    let written = value.jsonText
    let reparsed: JSONDocument
    do {
        reparsed = try JSONParser.parse(written)
    } catch {
        fuzzRequire(false, "jsonText \(written.debugDescription) of \(text.debugDescription) does not parse: \(error)")
        return 0
    }
    do {
        let rewritten = try JSONTreeDecoder.decode(JSONValue.self, from: reparsed).jsonText
        fuzzRequire(rewritten == written, "jsonText \(written.debugDescription) wrote back as \(rewritten.debugDescription)")
    } catch {
        fuzzRequire(false, "jsonText \(written.debugDescription) does not decode as JSONValue: \(error)")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_json_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzJSON($0, $1) }
}
