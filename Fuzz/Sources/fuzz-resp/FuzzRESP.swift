import FuzzSupport
import NIOCore
import TokenwireRedis

/// The values a parser took from bytes arriving in `chunks`, the error that stopped it,
/// and the bytes it left unconsumed.
struct RESPOutcome: Equatable {
    var values: [RESPValue] = []
    var error: RESPProtocolError?
    var leftover: [UInt8] = []
}

func parse(_ payload: [UInt8], chunks: [Range<Int>], limits: RESPParser.Limits) -> RESPOutcome {
    let parser = RESPParser(limits: limits)
    var buffer = ByteBuffer()
    var outcome = RESPOutcome()
    chunks: for range in chunks {
        buffer.writeBytes(payload[range])
        while true {
            let before = buffer.readableBytes
            do {
                guard let value = try parser.next(from: &buffer) else {
                    fuzzRequire(buffer.readableBytes == before, "an incomplete value consumed \(before - buffer.readableBytes) bytes")
                    break
                }
                outcome.values.append(value)
            } catch {
                outcome.error = error
                break chunks
            }
        }
    }
    // After an error the bytes not yet appended differ with the chunking; only a parser
    // that is still going has a leftover to compare.
    if outcome.error == nil { outcome.leftover = Array(buffer.readableBytesView) }
    return outcome
}

/// The RESP2 encoding of a value, to check that what was read is what was sent.
func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
    switch value {
    case .simpleString(let text): buffer.writeString("+\(text)\r\n")
    case .error(let text): buffer.writeString("-\(text)\r\n")
    case .integer(let number): buffer.writeString(":\(number)\r\n")
    case .bulkString(nil): buffer.writeString("$-1\r\n")
    case .bulkString(let bytes?):
        buffer.writeString("$\(bytes.readableBytes)\r\n")
        buffer.writeImmutableBuffer(bytes)
        buffer.writeString("\r\n")
    case .array(nil): buffer.writeString("*-1\r\n")
    case .array(let elements?):
        buffer.writeString("*\(elements.count)\r\n")
        for element in elements { encode(element, into: &buffer) }
    }
}

/// RESPParser: the first byte chooses the limits, the next ones the chunks. Invariants:
/// the same values and error (and, without an error, the same leftover bytes) whether the
/// input arrives whole or in chunks;
/// an incomplete value consumes nothing; every value read re-encodes to bytes that read
/// back as the same value; no bulk string or array passes its limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var limits = RESPParser.Limits()
    let choice = input.byte()
    limits.maxBulkBytes = [0, 1, 16, 1024][Int(choice & 3)]
    limits.maxArrayElements = [0, 2, 64, 1000][Int((choice >> 2) & 3)]
    limits.maxDepth = [1, 3, 32, 32][Int((choice >> 4) & 3)]
    limits.maxLineBytes = [4, 64, 1024, 64 * 1024][Int((choice >> 6) & 3)]
    let (payload, chunks) = input.chunkedPayload()
    let whole = parse(payload, chunks: [0..<payload.count], limits: limits)
    let chunked = parse(payload, chunks: chunks, limits: limits)
    fuzzRequire(whole == chunked, "chunks \(chunks) gave \(chunked), one write gave \(whole)")
    for value in whole.values {
        var encoded = ByteBuffer()
        encode(value, into: &encoded)
        let again = try? RESPParser().next(from: &encoded)
        fuzzRequire(again == value && encoded.readableBytes == 0, "\(value) re-encoded read back as \(String(describing: again))")
        checkLimits(value, limits, depth: 0)
    }
    return 0
}

func checkLimits(_ value: RESPValue, _ limits: RESPParser.Limits, depth: Int) {
    switch value {
    case .bulkString(let bytes?):
        fuzzRequire(bytes.readableBytes <= limits.maxBulkBytes, "a bulk string of \(bytes.readableBytes) passed the limit")
    case .array(let elements?):
        fuzzRequire(elements.count <= limits.maxArrayElements, "an array of \(elements.count) passed the limit")
        fuzzRequire(depth < limits.maxDepth, "arrays nested \(depth + 1) deep passed the limit \(limits.maxDepth)")
        for element in elements { checkLimits(element, limits, depth: depth + 1) }
    default:
        break
    }
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_resp_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzRESP($0, $1) }
}
