import Foundation
import Testing
import TokenwireProcess
import TokenwireRelay
import TokenwireUpstream

/// The fake LLM provider (`tools/fake_provider/fake_provider.py`), a real HTTP server on
/// a free loopback port, for the relay tests. One per test; stopped by `withFakeProvider`.
final class FakeProvider: Sendable {
    let port: Int
    private let process: ChildProcess
    private let log: URL

    private init(port: Int, process: ChildProcess, log: URL, caFile: String?) {
        self.port = port
        self.process = process
        self.log = log
        self.caFile = caFile
    }

    /// The CA file to trust when it serves TLS.
    let caFile: String?

    /// The base URL a provider of `dialect` is configured with.
    func baseURL(for dialect: UpstreamDialectKind) -> String {
        let scheme = caFile == nil ? "http" : "https"
        switch dialect {
        case .openAIChat, .openAIResponses: return "\(scheme)://127.0.0.1:\(port)/v1"
        default: return "\(scheme)://127.0.0.1:\(port)"
        }
    }

    /// The tests' default timeouts: heartbeats only where a test asks for them. With the
    /// server's default (the first after 1 s), a slow try on a loaded machine sends
    /// StreamStart and a heartbeat, which tests of trailers-only failures and of the route
    /// StreamStart names do not expect.
    static let quietTimeouts = UpstreamTimeouts(firstHeartbeat: .seconds(300), heartbeatInterval: .seconds(300))

    /// A provider named after its dialect (model `m`), forwarding `x-fake-*` metadata as
    /// headers so each request picks its replay and faults; no retries unless asked.
    func provider(
        _ dialect: UpstreamDialectKind,
        name: String? = nil,
        headers: [String: String] = [:],
        timeouts: UpstreamTimeouts = FakeProvider.quietTimeouts,
        retry: RetryPolicy = RetryPolicy(maxAttempts: 1),
        http1Only: Bool = false
    ) -> UpstreamProviderConfiguration {
        UpstreamProviderConfiguration(
            name: name ?? dialect.rawValue, dialect: dialect, baseURL: baseURL(for: dialect), headers: headers,
            forwardMetadata: ["x-fake-*"], models: ["m"], timeouts: timeouts, retry: retry, tlsCAFile: caFile,
            http1Only: http1Only)
    }

    /// What `request(_:until:)` waits for, besides the end of the response.
    enum Milestone {
        /// The response is over.
        case over
        /// `count` events are out.
        case eventsSent(Int)
        /// One event write has waited this many milliseconds for the client to read.
        case writeBlocked(milliseconds: Int)
    }

    /// One request's entry in the fake provider's log, once `milestone` is reached or the
    /// response is over, waiting at most `waitMilliseconds` (a bound for a hung test; the
    /// answer comes as soon as the milestone is reached).
    func request(_ id: String, until milestone: Milestone = .over, waitMilliseconds: Int = 30_000) async throws -> [String: Any] {
        var query = "wait_ms=\(waitMilliseconds)"
        switch milestone {
        case .over: break
        case .eventsSent(let count): query += "&wait_events=\(count)"
        case .writeBlocked(let milliseconds): query += "&wait_blocked_ms=\(milliseconds)"
        }
        let output = try await curl("/_fake/requests/\(id)?\(query)", maxSeconds: waitMilliseconds / 1000 + 30)
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(object as? [String: Any], "fake provider log entry \(id): \(output.stdout)")
    }

    /// Every logged request.
    func requests() async throws -> [[String: Any]] {
        let output = try await curl("/_fake/requests")
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(object as? [[String: Any]], "fake provider log: \(output.stdout)")
    }

    /// Starts the fake provider; with `tls`, on TLS (ALPN h2 and http/1.1) with a fresh
    /// self-signed certificate that is its own CA.
    private func curl(_ path: String, maxSeconds: Int = 30) async throws -> ProcessOutput {
        if let caFile {
            return try await runProcess("curl", ["-s", "--max-time", "\(maxSeconds)", "--cacert", caFile, "https://127.0.0.1:\(port)\(path)"])
        }
        return try await runProcess("curl", ["-s", "--max-time", "\(maxSeconds)", "http://127.0.0.1:\(port)\(path)"])
    }

    static func start(tls: Bool = false) async throws -> FakeProvider {
        var tlsArguments: [String] = []
        var caFile: String?
        if tls {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-tls-\(UUID().uuidString)")
            let made = try await runProcess("python3", ["tools/fake_provider/fake_provider.py", "--make-self-signed", directory.path])
            try #require(made.status == 0, "could not make a certificate: \(made.stderr)")
            tlsArguments = ["--tls-cert", directory.appendingPathComponent("cert.pem").path,
                            "--tls-key", directory.appendingPathComponent("key.pem").path]
            caFile = directory.appendingPathComponent("cert.pem").path
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-fake-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = try ChildProcess.spawn(
            "/usr/bin/env", ["python3", "tools/fake_provider/fake_provider.py", "--port", "0"] + tlsArguments,
            directory: repositoryRoot.path,
            stdin: .null, stdout: .descriptor(handle.fileDescriptor), stderr: .descriptor(handle.fileDescriptor))
        // The "listening" line goes to a file (see runProcess for why not a pipe), which
        // has no readiness to wait on: look every 20 ms, up to a bound that holds for a
        // Python start on a loaded machine.
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(60)
        while true {
            // Read before looking at the clock: a task starved past the bound on a loaded
            // machine still finds a line that arrived meanwhile.
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                return FakeProvider(port: port, process: process, log: log, caFile: caFile)
            }
            if !process.isRunning { throw FakeProviderFailed(output: text) }
            if clock.now >= giveUp { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw FakeProviderFailed(output: "no 'listening' line within 60 s")
    }

    /// Stops the process (SIGTERM, SIGKILL after 5 s) without blocking a thread of the
    /// test's cooperative pool: on a loaded machine blocked threads starve every other test.
    func stop() async {
        process.terminate()
        let clock = ContinuousClock()
        let killAt = clock.now + .seconds(5)
        while process.isRunning, clock.now < killAt { try? await Task.sleep(for: .milliseconds(20)) }
        process.signal(SIGKILL)
        _ = await process.exit()
        try? FileManager.default.removeItem(at: log)
        // The TLS certificate's directory (made per start) goes with the process.
        if let caFile { try? FileManager.default.removeItem(at: URL(fileURLWithPath: caFile).deletingLastPathComponent()) }
    }
}

struct FakeProviderFailed: Error, CustomStringConvertible {
    var output: String
    var description: String { "the fake provider did not start: \(output)" }
}

/// Runs `body` with a fresh fake provider, stopped afterwards.
func withFakeProvider<R: Sendable>(tls: Bool = false, _ body: (FakeProvider) async throws -> R) async throws -> R {
    let fake = try await FakeProvider.start(tls: tls)
    do {
        let result = try await body(fake)
        await fake.stop()
        return result
    } catch {
        await fake.stop()
        throw error
    }
}
