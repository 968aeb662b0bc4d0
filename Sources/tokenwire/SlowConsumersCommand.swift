import ArgumentParser
import Foundation
import TokenwireClient
import Synchronization
import TokenwireCore
import TokenwireServer

/// `tokenwire slow-consumers`: the backpressure benchmark. Many `synthetic/flood` streams
/// are read slowly for a while, then at full speed; it samples a server's RSS from
/// /proc/PID/status, checks every frame, and prints one JSON summary line.
struct SlowConsumersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow-consumers",
        abstract: "Benchmark: read many streams slowly, then fast; report a server's RSS and check every frame.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Streams, spread over --connections connections.")
    var streams = 1000

    @Option(help: "Client connections.")
    var connections = 4

    @Option(help: "Tokens per stream (synthetic/flood).")
    var tokens: UInt32 = 20_000

    @Option(help: "Frames each stream reads per second in the slow phase.")
    var rate: Double = 1

    @Option(help: "Seconds of the slow phase.")
    var seconds: Double = 60

    @Option(help: "The client's per-stream receive window, in bytes.")
    var window: UInt32 = 64 * 1024

    @Option(help: "Process id of the server, to sample its RSS (/proc/PID/status).")
    var serverPid: Int32

    func run() async throws {
        var configuration = try connection.clientConfiguration()
        configuration.http2.initialWindowSize = window
        configuration.bufferedFrames = 4
        var clients: [TokenwireClient] = []
        for _ in 0..<max(1, connections) {
            clients.append(try await TokenwireClient.connect(host: connection.host, port: connection.port, configuration: configuration))
        }
        let baseline = try residentKiB(pid: serverPid)
        let slowFrames = Int(rate * seconds)
        let release = StreamRelease()
        let clock = ContinuousClock()
        let request = GenerateRequest(model: "synthetic/flood", maxTokens: tokens)
        var peak = baseline
        let (recovery, lost) = try await withThrowingTaskGroup(of: Int.self) { group in
            for stream in 0..<streams {
                let client = clients[stream % clients.count]
                group.addTask { try await readStream(client.generate(request), slowFrames: slowFrames, release: release) }
            }
            // Sample the server's RSS through the slow phase.
            let slowEnd = clock.now + .milliseconds(Int(seconds * 1000))
            while clock.now < slowEnd {
                try await Task.sleep(for: .milliseconds(500))
                peak = max(peak, try residentKiB(pid: serverPid))
            }
            let fastStart = clock.now
            printError("slow-consumers: slow phase over, peak server RSS \(peak) KiB; reading the rest at full speed")
            release.open()
            var lost = 0
            for try await problems in group { lost += problems }
            return (clock.now - fastStart, lost)
        }
        let afterFast = try residentKiB(pid: serverPid)
        printError("slow-consumers: every stream read; now the reference run")
        // The same bytes again, read at full speed from the start: the speed to recover to.
        let reference = try await timeFastStreams(clients: clients, tokens: tokens)
        for client in clients { await client.close() }
        let recoveredTokens = Double(streams) * Double(Int(tokens) + 2 - slowFrames)
        print(
            """
            {"streams":\(streams),"connections":\(clients.count),"tokens_per_stream":\(tokens),"slow_seconds":\(seconds),\
            "slow_frames_per_second":\(rate),"client_window":\(window),"server_rss_baseline_kib":\(baseline),\
            "server_rss_peak_kib":\(peak),"server_rss_per_stream_kib":\((peak - baseline) / max(1, streams)),\
            "server_rss_after_kib":\(afterFast),"recovery_frames_per_second":\(Int(recoveredTokens / Self.seconds(recovery))),\
            "reference_frames_per_second":\(Int(Double(streams) * Double(tokens + 2) / Self.seconds(reference))),\
            "streams_with_lost_or_wrong_frames":\(lost)}
            """)
        if lost > 0 { throw ExitCode(1) }
    }

    /// Reads `slowFrames` frames at `rate`, waits for `release`, reads the rest; returns 1
    /// if a frame was missing, out of order or wrong, else 0.
    private func readStream(_ stream: TokenFrameStream, slowFrames: Int, release: StreamRelease) async throws -> Int {
        var iterator = stream.makeAsyncIterator()
        var seq: UInt64 = 0
        let interval = Duration.milliseconds(Int(1000 / max(rate, 0.001)))
        var next = ContinuousClock.now
        var ok = true
        func check(_ frame: TokenFrame) {
            seq += 1
            guard frame.seq == seq else { ok = false; return }
            if seq >= 2, seq <= UInt64(tokens) + 1, frame.event != .text(SyntheticProvider.vocabulary[Int(seq - 2) % 8]) { ok = false }
        }
        for _ in 0..<slowFrames {
            guard let frame = try await iterator.next() else { break }
            check(frame)
            next += interval
            try await Task.sleep(until: next)
        }
        await release.wait()
        while let frame = try await iterator.next() { check(frame) }
        return ok && seq == UInt64(tokens) + 2 ? 0 : 1
    }

    private func timeFastStreams(clients: [TokenwireClient], tokens: UInt32) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for stream in 0..<streams {
                let client = clients[stream % clients.count]
                group.addTask { for try await _ in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: tokens)) {} }
            }
            try await group.waitForAll()
        }
        return clock.now - start
    }

    private func residentKiB(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw ValidationError("no VmRSS in /proc/\(pid)/status") }
        return kib
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Lets all slow readers go at once.
private final class StreamRelease: Sendable {
    private struct State {
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state -> Bool in
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for waiter in waiters { waiter.resume() }
    }
}
