import Foundation
import Testing
import TokenwireProcess

/// The child-process wrapper the tests and `tokenwire demo` start processes with.
@Suite("Child processes")
struct ChildProcessTests {
    @Test func exitCodeAndOutputAreTheChildsAndOtherDescriptorsAreNotInherited() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-child-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        // A descriptor this process holds open without close-on-exec stays here.
        let held = open("/dev/zero", O_RDONLY)
        try #require(held >= 0)
        defer { close(held) }
        let handle = try FileHandle(forWritingTo: out)
        let child = try ChildProcess.spawn(
            "/bin/sh", ["-c", "ls /proc/self/fd; exit 3"], directory: "/",
            stdin: .null, stdout: .descriptor(handle.fileDescriptor), stderr: .null)
        try handle.close()
        #expect(await child.exit() == .exited(3))
        #expect(!child.isRunning)
        let listed = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        // 0, 1, 2 and the descriptor `ls` opens to read the directory: nothing of ours.
        #expect(listed.filter { $0 > 2 }.count <= 1, "the child inherited descriptors: \(listed)")
        #expect(!listed.contains(Int(held)), "the child inherited descriptor \(held): \(listed)")
    }

    @Test func signalledChildReportsTheSignal() async throws {
        let child = try ChildProcess.spawn("/bin/sleep", ["60"])
        #expect(child.isRunning)
        child.terminate()
        #expect(await child.exit() == .signalled(SIGTERM))
        child.terminate()  // after the end: does nothing
    }

    @Test func missingExecutableIsAnErrorNamingIt() {
        #expect {
            _ = try ChildProcess.spawn("/nonexistent/tokenwire-no-such-tool", [])
        } throws: { error in
            "\(error)".contains("/nonexistent/tokenwire-no-such-tool") && "\(error)".contains("No such file")
        }
    }
}
