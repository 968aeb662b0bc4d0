import Foundation

/// One look at a process in /proc: resident memory, open file descriptors, threads.
struct ProcessSample: Sendable {
    var residentKiB: Int
    var openFiles: Int
    var threads: Int

    /// Reads /proc/`pid`/status and /proc/`pid`/fd.
    /// - Throws: `BenchError` when the process is gone or /proc cannot be read.
    init(pid: Int32) throws {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            throw BenchError(.verificationFailed, "cannot read /proc/\(pid)/status: is the server (pid \(pid)) still running?")
        }
        func field(_ name: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        }
        guard let resident = field("VmRSS"), let threads = field("Threads"),
            let files = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        else { throw BenchError(.verificationFailed, "cannot read VmRSS, Threads or fd of /proc/\(pid)") }
        residentKiB = resident
        self.threads = threads
        openFiles = files.count
    }
}
