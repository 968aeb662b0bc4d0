import Foundation
import TokenwireProcess

/// The fake LLM provider (`tools/fake_provider/fake_provider.py`) as a child process on
/// loopback, for `tokenwire demo --provider`.
final class FakeProviderProcess {
    let port: Int
    private let process: ChildProcess
    private let output: URL

    /// Starts the script and waits (up to 30 s) for its `listening HOST:PORT` line.
    /// - Throws: `FakeProviderError` naming the script, or what it printed.
    init(script: String) throws {
        guard FileManager.default.fileExists(atPath: script) else {
            throw FakeProviderError(
                message: "the fake provider \(script) does not exist: run from the repository root or pass --fake-provider PATH")
        }
        output = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-fake-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let log = try FileHandle(forWritingTo: output)
        defer { try? log.close() }
        process = try ChildProcess.spawn(
            "/usr/bin/env", ["python3", script, "--port", "0"],
            stdin: .null, stdout: .descriptor(log.fileDescriptor), stderr: .descriptor(log.fileDescriptor))
        port = try Self.waitForPort(in: output, process: process)
    }

    /// Stops the process (SIGTERM) and removes its log.
    func stop() {
        process.terminate()
        _ = process.waitUntilExit()
        try? FileManager.default.removeItem(at: output)
    }

    private static func waitForPort(in file: URL, process: ChildProcess) throws -> Int {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                return port
            }
            if !process.isRunning {
                throw FakeProviderError(message: "the fake provider exited at start: \(text)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.terminate()
        throw FakeProviderError(message: "the fake provider did not start listening within 30 s")
    }
}

struct FakeProviderError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
