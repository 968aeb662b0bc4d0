import TokenwireClient
import TokenwireCore

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Prints a stream as it arrives (text, or one JSON line per frame) and sums it up.
final class StreamPrinter {
    /// `snapshots`: each JSON snapshot on its own line, instead of the text.
    enum Mode { case text, frames, snapshots }

    let mode: Mode
    private let clock = ContinuousClock()
    private var started: ContinuousClock.Instant
    private var firstToken: ContinuousClock.Instant?
    private var tokens = 0
    private var frames = 0
    /// The stream's resume token (from StreamStart, or the one resumed) and the last seq
    /// shown: what `tokenwire stream --resume` needs after a failure.
    var resumeToken = ""
    private var lastSeq: UInt64 = 0
    /// The Finish's verdict on a JSON answer, for the summary.
    private var json: JSONCheck?

    init(mode: Mode) {
        self.mode = mode
        self.started = clock.now
    }

    /// Reads the whole stream; returns its final status.
    func consume(_ stream: TokenFrameStream) async -> GRPCStatus {
        started = clock.now
        do {
            for try await frame in stream { show(frame) }
            return .ok
        } catch let error as TokenwireError {
            return error.status
        } catch {
            return GRPCStatus(code: .unknown, message: "\(error)")
        }
    }

    private func show(_ frame: TokenFrame) {
        frames += 1
        lastSeq = frame.seq
        if case .start(let start) = frame.event, !start.resumeToken.isEmpty { resumeToken = start.resumeToken }
        if case .finish(let finish) = frame.event { json = finish.json }
        switch frame.event {
        case .text, .reasoning, .toolCall:
            tokens += 1
            if firstToken == nil { firstToken = clock.now }
        default: break
        }
        switch mode {
        case .frames:
            print(FrameJSON.encode(frame))
        case .text:
            if case .text(let text) = frame.event {
                fputs(text, stdout)
                fflush(stdout)
            }
        case .snapshots:
            if case .jsonSnapshot(let snapshot) = frame.event { print(snapshot) }
        }
    }

    /// Writes TTFT, token count, rate and status to stderr.
    func printSummary(status: GRPCStatus) {
        if mode == .text, tokens > 0 { print() }
        let elapsed = clock.now - started
        let ttft = firstToken.map { Self.milliseconds($0 - started) } ?? "-"
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(tokens) / seconds : 0
        let verdict = json.map { " json=\($0.verdict)" } ?? ""
        printError("ttft=\(ttft) tokens=\(tokens) frames=\(frames) elapsed=\(Self.milliseconds(elapsed)) tokens/s=\(Int(rate))\(verdict) status=\(status)")
        if let json, !json.isValid { printError("the answer is not the JSON asked for: \(json)") }
        if status.code == .unavailable, !resumeToken.isEmpty {
            printError("the stream can be resumed for a while: tokenwire stream --resume \(resumeToken) --after \(lastSeq)")
        }
    }

    private static func milliseconds(_ duration: Duration) -> String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return ms < 10 ? "\((ms * 100).rounded() / 100)ms" : "\(Int(ms.rounded()))ms"
    }
}

/// Writes a line to stderr.
func printError(_ line: String) {
    fputs(line + "\n", stderr)
}
