import Foundation
import NIOCore
import NIOPosix
import Testing
import TokenwireProcess
import TokenwireTestSupport

extension CLITests {
    /// `tokenwire serve` in a child process under `ulimit -n 64`: more waiting connections
    /// than it has descriptors. It pauses accepting (instead of spinning a core), says so
    /// once in its log, and serves again once connections close.
    @Test func serveOutOfFileDescriptorsBacksOffAcceptingLogsOnceAndRecovers() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-emfile-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = try ChildProcess.spawn(
            "/bin/sh", ["-c", "ulimit -n 64 && exec \"$0\" serve --port 0 --preface-timeout 0", binary],
            stdin: .null, stdout: .descriptor(handle.fileDescriptor), stderr: .descriptor(handle.fileDescriptor))
        try handle.close()
        defer {
            process.signal(SIGKILL)
            _ = process.waitUntilExit()
        }
        @Sendable func logText() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let port = try await withTimeout(60, "the server's 'listening' line") {
            while true {
                if let match = logText().firstMatch(of: /address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) { return port }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        var connections: [any Channel] = []
        for _ in 0..<100 {
            connections.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get())
        }
        try await withTimeout(60, "the server to log that it cannot accept") {
            while !logText().contains("cannot accept connections") { try await Task.sleep(for: .milliseconds(20)) }
        }
        // While out of descriptors with connections waiting, the server is all but idle.
        let before = try cpuSeconds(of: process.pid)
        try await Task.sleep(for: .seconds(3))
        let spent = try cpuSeconds(of: process.pid) - before
        #expect(spent < 0.3, "the server spent \(spent) s of CPU in 3 s while out of file descriptors")

        for connection in connections { try? await connection.close() }
        let health = try await runProcess(binary, ["health", "--port", "\(port)"], timeout: 60)
        #expect(health.stdout == "SERVING\n", "\(health.stderr)")
        #expect(logText().components(separatedBy: "cannot accept connections").count - 1 == 1)
    }

    /// User plus system CPU time of a process, from /proc.
    private func cpuSeconds(of pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        let ticks = try #require(Double(fields[11])) + #require(Double(fields[12]))  // utime, stime
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
