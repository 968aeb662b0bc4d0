import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TokenwireClient
import TokenwireCore
import TokenwireProcess
import TokenwireProviders
import TokenwireRelay
import TokenwireServer
import TokenwireTestSupport

/// A real server on a free loopback port, shut down after `body`.
func withTestServer<R: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    relay: RelayConfiguration? = nil,
    _ body: (TokenwireServer, Int) async throws -> R
) async throws -> R {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.logLevel = ProcessInfo.processInfo.environment["TOKENWIRE_TEST_LOG_LEVEL"].flatMap { .init(rawValue: $0) } ?? .error
    configuration.drainTimeout = .seconds(5)
    configure(&configuration)
    let server = try TokenwireServer(configuration: configuration) { group in
        guard let relay else { return ProviderCatalog() }
        return try RelayCatalog.make(relay, group: group)
    }
    try await server.start()
    let port = try #require(server.port)
    do {
        let result = try await body(server, port)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// A real server and a connected client.
func withServerAndClient<R: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    relay: RelayConfiguration? = nil,
    _ body: (TokenwireServer, TokenwireClient) async throws -> R
) async throws -> R {
    try await withTestServer(configure: configure, relay: relay) { server, port in
        try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            try await body(server, client)
        }
    }
}

/// The deadline of a call that must outlive its first frames and then expire. The first
/// frame normally arrives within milliseconds, but under a loaded 2-core machine running
/// the suites in parallel a short deadline (a few hundred ms) has expired first.
let callDeadlineBudget: Duration = .seconds(10)

/// Waits until `condition` holds, failing with `TimedOut` after `seconds`. For state that
/// offers no notification to wait on (`AdmissionControl`'s counters): it looks every 5 ms.
/// Prefer waiting on the event itself (`CallLedger.wait`, a signal from the provider).
func waitUntil(_ seconds: Double, _ what: String, _ condition: @escaping @Sendable () -> Bool) async throws {
    try await withTimeout(seconds, what) {
        while !condition() {
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Waits for `signal`'s next element (a test's "it has happened" stream), failing with
/// `TimedOut` after `seconds`.
func nextSignal(_ signal: AsyncStream<Void>, within seconds: Double = 30, _ what: String) async throws {
    try await withTimeout(seconds, what) {
        var iterator = signal.makeAsyncIterator()
        _ = await iterator.next()
    }
}

/// Suspends until the task is cancelled, then throws `CancellationError`: a reader that
/// stops reading until the test cancels it.
func suspendUntilCancelled() async throws {
    let latch = Latch()
    await withTaskCancellationHandler {
        await latch.wait()
    } onCancel: {
        latch.open()
    }
    throw CancellationError()
}

/// Lets every waiter go on at once, when `open()` is called (also those that come later).
final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Returns once `open()` has been called.
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
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// The repository root (for tools/ and Tests/Interop/).
let repositoryRoot: URL = {
    if let root = ProcessInfo.processInfo.environment["TOKENWIRE_REPO_ROOT"] {
        return URL(fileURLWithPath: root)
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}()

/// The result of running an external program.
struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs an external program to completion (bounded by `timeout` seconds). Its output goes
/// to temporary files rather than pipes: pipe readability handlers run on Dispatch
/// sources, which proved crash-prone with many processes running at once.
func runProcess(_ executable: String, _ arguments: [String], timeout: Double = 120, directory workingDirectory: String? = nil) async throws -> ProcessOutput {
    let directory = FileManager.default.temporaryDirectory
    let name = UUID().uuidString
    let outURL = directory.appendingPathComponent("tokenwire-test-\(name).out")
    let errURL = directory.appendingPathComponent("tokenwire-test-\(name).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let child = try ChildProcess.spawn(
        "/usr/bin/env", [executable] + arguments, directory: workingDirectory ?? repositoryRoot.path,
        stdin: .null, stdout: .descriptor(out.fileDescriptor), stderr: .descriptor(err.fileDescriptor))
    let status: Int32
    do {
        status = try await withTimeout(timeout, "\(executable) \(arguments.joined(separator: " "))") {
            await child.exit().status
        }
    } catch {
        child.signal(SIGKILL)
        _ = await child.exit()
        throw error
    }
    try? out.close()
    try? err.close()
    return ProcessOutput(
        status: status,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// The frames `synthetic/flood` must send for `count` tokens, checked one by one.
func checkFloodFrames(_ frames: [TokenFrame], count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(frames.count == count + 2, sourceLocation: sourceLocation)
    for (offset, frame) in frames.enumerated() {
        guard frame.seq == UInt64(offset + 1) else {
            Issue.record("frame \(offset) has seq \(frame.seq)", sourceLocation: sourceLocation)
            return
        }
        switch (offset, frame.event) {
        case (0, .start(let start)):
            #expect(start.model == "synthetic/flood" && start.provider == "synthetic" && !start.streamID.isEmpty, sourceLocation: sourceLocation)
        case (count + 1, .finish(let finish)):
            #expect(finish == Finish(reason: "length", usage: Usage(outputTokens: UInt32(count))), sourceLocation: sourceLocation)
        case (_, .text(let text)) where offset >= 1 && offset <= count:
            if text != SyntheticProvider.vocabulary[(offset - 1) % 8] {
                Issue.record("frame seq \(frame.seq) has text '\(text)'", sourceLocation: sourceLocation)
                return
            }
        default:
            Issue.record("unexpected frame \(frame) at offset \(offset)", sourceLocation: sourceLocation)
            return
        }
    }
}
