import Foundation
import Testing
import TokenwireRelay
import TokenwireUpstream

/// The fake LLM provider (`tools/fake_provider/fake_provider.py`), a real HTTP server on
/// a free loopback port, for the relay tests. One per test; stopped by `withFakeProvider`.
final class FakeProvider: @unchecked Sendable {  // the process is only started, read and stopped
    let port: Int
    private let process: Process
    private let log: URL

    private init(port: Int, process: Process, log: URL) {
        self.port = port
        self.process = process
        self.log = log
    }

    /// The base URL a provider of `dialect` is configured with.
    func baseURL(for dialect: UpstreamDialectKind) -> String {
        switch dialect {
        case .openAIChat, .openAIResponses: "http://127.0.0.1:\(port)/v1"
        default: "http://127.0.0.1:\(port)"
        }
    }

    /// A provider named after its dialect (model `m`), forwarding `x-fake-*` metadata as
    /// headers so each request picks its replay and faults; no retries unless asked.
    func provider(
        _ dialect: UpstreamDialectKind,
        name: String? = nil,
        headers: [String: String] = [:],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 1)
    ) -> UpstreamProviderConfiguration {
        UpstreamProviderConfiguration(
            name: name ?? dialect.rawValue, dialect: dialect, baseURL: baseURL(for: dialect), headers: headers,
            forwardMetadata: ["x-fake-*"], models: ["m"], timeouts: timeouts, retry: retry)
    }

    /// One request's entry in the fake provider's log, waiting up to `waitMilliseconds`
    /// for its response to be over.
    func request(_ id: String, waitMilliseconds: Int = 5000) async throws -> [String: Any] {
        let url = URL(string: "http://127.0.0.1:\(port)/_fake/requests/\(id)?wait_ms=\(waitMilliseconds)")!
        let output = try await runProcess("curl", ["-s", "--max-time", "10", url.absoluteString])
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(object as? [String: Any], "fake provider log entry \(id): \(output.stdout)")
    }

    /// Every logged request.
    func requests() async throws -> [[String: Any]] {
        let output = try await runProcess("curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(port)/_fake/requests"])
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(object as? [[String: Any]], "fake provider log: \(output.stdout)")
    }

    static func start() async throws -> FakeProvider {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-fake-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "tools/fake_provider/fake_provider.py", "--port", "0"]
        process.currentDirectoryURL = repositoryRoot
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<500 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                return FakeProvider(port: port, process: process, log: log)
            }
            if !process.isRunning { throw FakeProviderFailed(output: text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw FakeProviderFailed(output: "no 'listening' line within 10 s")
    }

    func stop() {
        if process.isRunning { process.terminate() }
        for _ in 0..<250 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }
}

struct FakeProviderFailed: Error, CustomStringConvertible {
    var output: String
    var description: String { "the fake provider did not start: \(output)" }
}

/// Runs `body` with a fresh fake provider, stopped afterwards.
func withFakeProvider<R: Sendable>(_ body: (FakeProvider) async throws -> R) async throws -> R {
    let fake = try await FakeProvider.start()
    defer { fake.stop() }
    return try await body(fake)
}
