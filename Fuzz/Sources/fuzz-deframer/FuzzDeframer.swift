import FuzzSupport
import NIOCore
import TokenwireCore
import TokenwireWire

/// The messages a deframer returned, and the error that ended them, if any.
struct DeframeOutcome: Equatable {
    var messages: [[UInt8]] = []
    var error: TokenwireError?
    var bufferedBytes = 0
    var isInsideMessage = false
}

/// Appends the payload to a deframer in `chunks`, taking every whole message after each.
func deframe(_ payload: [UInt8], chunks: [Range<Int>], maxMessageSize: Int) -> DeframeOutcome {
    var deframer = GRPCMessageDeframer(maxMessageSize: maxMessageSize)
    var outcome = DeframeOutcome()
    chunks: for range in chunks {
        deframer.append(ByteBuffer(bytes: payload[range]))
        while true {
            do {
                guard let message = try deframer.next() else { break }
                fuzzRequire(message.readableBytes <= maxMessageSize, "a \(message.readableBytes)-byte message passed the \(maxMessageSize)-byte limit")
                outcome.messages.append(Array(message.readableBytesView))
            } catch {
                outcome.error = error
                break chunks
            }
        }
    }
    if outcome.error != nil {
        // A failed deframer stays failed.
        do {
            _ = try deframer.next()
            fuzzRequire(false, "next() succeeded after the deframer failed")
        } catch {
            fuzzRequire(error == outcome.error, "next() threw \(error) after \(outcome.error!)")
        }
    }
    outcome.bufferedBytes = deframer.bufferedBytes
    outcome.isInsideMessage = deframer.isInsideMessage
    return outcome
}

/// GRPCMessageDeframer: the first byte chooses the message size limit, the next ones the
/// chunks. Invariants: the same messages, error, buffered byte count and position as one
/// append of the whole payload; no message over the limit; a failed deframer keeps
/// failing with the same error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeframer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limits = [0, 1, 4, 5, 16, 100, 1024, 4 * 1024 * 1024]
    let maxMessageSize = limits[Int(input.byte()) % limits.count]
    let (payload, chunks) = input.chunkedPayload()
    let whole = deframe(payload, chunks: [0..<payload.count], maxMessageSize: maxMessageSize)
    let chunked = deframe(payload, chunks: chunks, maxMessageSize: maxMessageSize)
    fuzzRequire(whole == chunked, "chunks \(chunks) gave \(chunked), one append gave \(whole)")
    if whole.error == nil {
        let consumed = whole.messages.reduce(0) { $0 + 5 + $1.count }
        fuzzRequire(
            consumed + whole.bufferedBytes == payload.count
                || (whole.isInsideMessage && consumed + 5 + whole.bufferedBytes == payload.count),
            "messages took \(consumed) bytes and \(whole.bufferedBytes) are buffered, of \(payload.count)")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_deframer_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzDeframer($0, $1) }
}
