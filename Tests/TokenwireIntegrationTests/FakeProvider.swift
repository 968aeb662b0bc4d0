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

    private init(port: Int, process: Process, log: URL, caFile: String?) {
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

    /// A provider named after its dialect (model `m`), forwarding `x-fake-*` metadata as
    /// headers so each request picks its replay and faults; no retries unless asked.
    func provider(
        _ dialect: UpstreamDialectKind,
        name: String? = nil,
        headers: [String: String] = [:],
        timeouts: UpstreamTimeouts = UpstreamTimeouts(),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 1),
        http1Only: Bool = false
    ) -> UpstreamProviderConfiguration {
        UpstreamProviderConfiguration(
            name: name ?? dialect.rawValue, dialect: dialect, baseURL: baseURL(for: dialect), headers: headers,
            forwardMetadata: ["x-fake-*"], models: ["m"], timeouts: timeouts, retry: retry, tlsCAFile: caFile,
            http1Only: http1Only)
    }

    /// One request's entry in the fake provider's log, waiting up to `waitMilliseconds`
    /// for its response to be over.
    func request(_ id: String, waitMilliseconds: Int = 5000) async throws -> [String: Any] {
        let output = try await curl("/_fake/requests/\(id)?wait_ms=\(waitMilliseconds)")
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
    private func curl(_ path: String) async throws -> ProcessOutput {
        if let caFile {
            return try await runProcess("curl", ["-s", "--max-time", "10", "--cacert", caFile, "https://127.0.0.1:\(port)\(path)"])
        }
        return try await runProcess("curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"])
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "tools/fake_provider/fake_provider.py", "--port", "0"] + tlsArguments
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
                return FakeProvider(port: port, process: process, log: log, caFile: caFile)
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
func withFakeProvider<R: Sendable>(tls: Bool = false, _ body: (FakeProvider) async throws -> R) async throws -> R {
    let fake = try await FakeProvider.start(tls: tls)
    defer { fake.stop() }
    return try await body(fake)
}
