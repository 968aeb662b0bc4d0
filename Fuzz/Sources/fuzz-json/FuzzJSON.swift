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

/// Whether two decoded values are the same JSON value. A number may change case on the way
/// through `jsonText`: `-90123456789022345.7` decodes as the Double -9.0123456789022352e16,
/// which writes as `-9.012345678902235e+16`, which decodes as the Int64 -90123456789022350
/// (integer decoding takes the decimal text, as `JSONDecoder` does). Both are the same
/// Double, so numbers compare as Doubles when one side is an integer.
func sameValue(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.number(let a), .integer(let b)), (.integer(let b), .number(let a)):
        return a == Double(b)
    case (.array(let a), .array(let b)):
        return a.count == b.count && zip(a, b).allSatisfy(sameValue)
    case (.object(let a), .object(let b)):
        return a.count == b.count && a.allSatisfy { key, value in b[key].map { sameValue(value, $0) } ?? false }
    default:
        return left == right
    }
}

/// JSONParser and JSONTreeDecoder: UTF-8 text (invalid sequences become U+FFFD) parsed
/// as JSON, then decoded as `JSONValue` and as a few wire-type shapes. Invariant:
/// `JSONValue.jsonText` is JSON that the parser accepts and that decodes to the same value
/// (`sameValue`).
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
        let again = try JSONTreeDecoder.decode(JSONValue.self, from: reparsed)
        fuzzRequire(sameValue(again, value), "jsonText \(written.debugDescription) decoded as \(again.jsonText.debugDescription)")
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
