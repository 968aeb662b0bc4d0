import ArgumentParser
import Foundation
import TokenwireClient
import TokenwireCore

/// `tokenwire-bench resume-latency`: how long a client that lost its connection waits for
/// its stream again: from opening a new connection to the first resumed frame.
struct ResumeLatencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume-latency",
        abstract: "Time from a new connection to the first frame of a resumed stream.",
        discussion: """
            Each round starts a paced Generate on --target, reads --after frames, waits --settle \
            seconds (long enough for a resume store to have them), then opens a new connection to \
            --resume-target (default: --target) and resumes the stream after frame --after - 1: the \
            first resumed frame is one already produced, so the time is the reconnect's own \
            (connect, HTTP/2 handshake, the resume call, the lookup and replay; on another replica, \
            the replay from Redis), not the producer's pace. The original call stays attached (a \
            second reader), which is how the server sees a resume that arrives before the lost \
            connection is noticed. Prints p50/p90/p99/min/max in milliseconds.
            """)

    @Option(help: "Server that produces the streams, as HOST:PORT.")
    var target = "127.0.0.1:50051"

    @Option(help: "Server to resume on, as HOST:PORT (another replica sharing a --resume-store; default: --target).")
    var resumeTarget: String?

    @Option(help: "Model of the streams (a paced one: the stream must still run when it is resumed).")
    var model = "synthetic/paced"

    @Option(name: [.customShort("n"), .long], help: "Rounds.")
    var rounds = 50

    @Option(help: "Frames read before the resume (StreamStart included).")
    var after = 5

    @Option(help: "Seconds between reading those frames and resuming.")
    var settle = 0.05

    func validate() throws {
        _ = try HostAndPort.parse(target, option: "--target")
        if let resumeTarget { _ = try HostAndPort.parse(resumeTarget, option: "--resume-target") }
        guard after >= 2 else { throw ValidationError("--after must be at least 2 (StreamStart and one more frame)") }
        guard rounds > 0 else { throw ValidationError("--rounds must be above 0") }
    }

    func run() async throws {
        let (host, port) = try HostAndPort.parse(target, option: "--target")
        let (resumeHost, resumePort) = try HostAndPort.parse(resumeTarget ?? target, option: "--resume-target")
        // No automatic reconnect or resume: the round measures one attempt.
        var noRetry = ClientConfiguration()
        noRetry.reconnectAttempts = 0
        noRetry.resumeAttempts = 0
        var samples: [Int64] = []
        try await TokenwireClient.withConnection(host: host, port: port, configuration: noRetry) { producer in
            for round in 1...rounds {
                let stream = producer.generate(GenerateRequest(model: model, maxTokens: 100_000))
                var iterator = stream.makeAsyncIterator()
                var frames: [TokenFrame] = []
                while frames.count < after, let frame = try await iterator.next() { frames.append(frame) }
                guard frames.count == after, case .start(let start) = frames[0].event, !start.resumeToken.isEmpty else {
                    throw ValidationError("round \(round): the stream ended after \(frames.count) frames or carries no resume token; is \(model) paced and resuming on?")
                }
                try await Task.sleep(for: .seconds(settle))
                let wanted = frames[after - 1]
                let began = MonotonicClock.now()
                let first = try await TokenwireClient.withConnection(host: resumeHost, port: resumePort, configuration: noRetry) { client in
                    var resumed = client.generate(GenerateRequest(model: "", resumeToken: start.resumeToken, resumeAfterSeq: wanted.seq - 1))
                        .makeAsyncIterator()
                    return try await resumed.next()
                }
                samples.append(MonotonicClock.now() - began)
                guard first?.seq == wanted.seq, first?.event == wanted.event else {
                    throw ValidationError("round \(round): the resume's first frame is \(String(describing: first)), not frame \(wanted.seq) as first sent")
                }
                // Dropping the iterator cancels the original call.
            }
        }
        let summary = Percentiles.json(samples)
        print("resume-latency target=\(target) resume-target=\(resumeTarget ?? target) rounds=\(rounds) ms=\(summary.serialized)")
    }
}
