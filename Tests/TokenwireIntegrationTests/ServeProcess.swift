import Foundation
import NIOConcurrencyHelpers
import TokenwireProcess
import TokenwireTestSupport

/// `tokenwire serve` as a child process, its standard error collected as it is written
/// (on a thread of its own: blocking reads must not hold a task thread).
struct ServeProcess: Sendable {
    let process: ChildProcess
    let output: NIOLockedValueBox<String>
    private let finished: AsyncStream<Void>

    /// Starts `tokenwire serve ARGUMENTS` and waits (at most 30 s) until its standard error
    /// holds what `ready` looks for.
    /// - Returns: the process and what `ready` found.
    static func start<Found: Sendable>(
        _ arguments: [String], ready: @escaping @Sendable (String) -> Found?
    ) async throws -> (ServeProcess, Found) {
        let err = Pipe()
        let process = try ChildProcess.spawn(
            CLITests().binary, ["serve"] + arguments,
            stdin: .null, stdout: .null, stderr: .descriptor(err.fileHandleForWriting.fileDescriptor))
        try err.fileHandleForWriting.close()  // the child holds the write end: EOF when it exits
        let output = NIOLockedValueBox("")
        let found = AsyncStream<Found>.makeStream()
        let finished = AsyncStream<Void>.makeStream()
        let handle = err.fileHandleForReading
        Thread.detachNewThread {
            var announced = false
            while case let chunk = handle.availableData, !chunk.isEmpty {
                let seen = output.withLockedValue { $0 += String(decoding: chunk, as: UTF8.self); return $0 }
                if !announced, let value = ready(seen) {
                    announced = true
                    found.continuation.yield(value)
                }
            }
            found.continuation.finish()
            finished.continuation.yield()
        }
        let served = ServeProcess(process: process, output: output, finished: finished.stream)
        do {
            let value = try await withTimeout(30, "tokenwire serve to start") {
                var values = found.stream.makeAsyncIterator()
                return await values.next()
            }
            guard let value else { throw ServeProcessFailed(stderr: output.withLockedValue { $0 }) }
            return (served, value)
        } catch {
            process.terminate()
            _ = await process.exit()
            throw error
        }
    }

    /// SIGTERM, then waits (at most 30 s each) for the exit and the end of its standard error.
    /// - Returns: how it exited, and all it wrote to standard error.
    func stop() async throws -> (ChildProcess.Termination, String) {
        process.terminate()
        let termination = try await withTimeout(30, "tokenwire serve to exit") { await process.exit() }
        try await withTimeout(30, "the server's stderr to close") {
            var events = finished.makeAsyncIterator()
            _ = await events.next()
        }
        return (termination, output.withLockedValue { $0 })
    }
}

struct ServeProcessFailed: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "tokenwire serve exited before it was ready; its stderr:\n\(stderr)" }
}
