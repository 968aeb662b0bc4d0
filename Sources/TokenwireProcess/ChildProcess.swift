import CTokenwireSpawn
import Foundation
import Synchronization

/// A child process: started with `posix_spawn`, its standard streams redirected, every
/// other descriptor closed in the child, and reaped by a thread of its own.
///
/// Used instead of Foundation's `Process`, whose `run()` on Linux reads /proc/self/fd with
/// a buffer over-read that crashes the parent now and then (more often the more
/// descriptors it has open: a test process with hundreds of event loops), and then hangs
/// in the crash handler (swiftlang/swift-corelibs-foundation#5472).
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// This process's own stream of the same number.
        case inherit
        /// A descriptor this process holds open (a file, or a pipe's end), duplicated
        /// into the child; this process keeps its own and closes it when it likes.
        case descriptor(Int32)
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or the signal's number (as Foundation's `terminationStatus`).
        public var status: Int32 {
            switch self {
            case .exited(let code), .signalled(let code): code
            }
        }
    }

    /// Failed to start a child.
    public struct SpawnError: Error, CustomStringConvertible {
        public var executable: String
        public var errno: Int32
        public var description: String {
            "cannot start \(executable): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    private struct State {
        var termination: Termination?
        var waiters: [CheckedContinuation<Termination, Never>] = []
        var blockedThreads: [DispatchSemaphore] = []
    }

    public let pid: Int32
    private let state = Mutex(State())

    private init(pid: Int32) {
        self.pid = pid
    }

    /// Starts `executable` (a path) with `arguments`.
    /// - Parameters:
    ///   - environment: the child's environment; nil: this process's.
    ///   - directory: the child's working directory; nil: this process's.
    /// - Throws: `SpawnError` when the child cannot be started.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdin: Stream = .null, stdout: Stream = .inherit, stderr: Stream = .inherit
    ) throws -> ChildProcess {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw SpawnError(executable: executable, errno: errno) }
        defer { close(devNull) }
        func descriptor(_ stream: Stream, _ own: Int32) -> Int32 {
            switch stream {
            case .null: devNull
            case .inherit: own
            case .descriptor(let fd): fd
            }
        }
        let argv = CStringArray([executable] + arguments)
        let envp = environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }) }
        var pid: pid_t = 0
        let result = argv.withPointers { argvPointer in
            withOptionalPointers(envp) { envpPointer in
                withOptionalCString(directory) { directoryPointer in
                    tokenwire_spawn(
                        &pid, executable, argvPointer, envpPointer, directoryPointer,
                        descriptor(stdin, 0), descriptor(stdout, 1), descriptor(stderr, 2))
                }
            }
        }
        guard result == 0 else { throw SpawnError(executable: executable, errno: result) }
        let child = ChildProcess(pid: pid)
        let reaper = Thread { child.reap() }
        reaper.name = "tokenwire-reap-\(pid)"
        reaper.start()
        return child
    }

    /// Whether the child has not been reaped yet.
    public var isRunning: Bool { state.withLock { $0.termination == nil } }

    /// How the child ended, once it has.
    public var termination: Termination? { state.withLock { $0.termination } }

    /// Sends SIGTERM unless the child has ended.
    public func terminate() {
        signal(SIGTERM)
    }

    /// Sends `signal` unless the child has ended: its pid may belong to another process
    /// by then.
    public func signal(_ signal: Int32) {
        state.withLock { state in
            if state.termination == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits for the child to end, without blocking a thread.
    public func exit() async -> Termination {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> Termination? in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// Waits for the child to end, blocking the calling thread (for synchronous code only).
    public func waitUntilExit() -> Termination {
        let done = DispatchSemaphore(value: 0)
        let ended = state.withLock { state -> Termination? in
            if let termination = state.termination { return termination }
            state.blockedThreads.append(done)
            return nil
        }
        if let ended { return ended }
        done.wait()
        return state.withLock { $0.termination! }
    }

    private func reap() {
        var raw: Int32 = 0
        let result = tokenwire_wait(pid, &raw)
        var exited: Int32 = 0
        let value = tokenwire_wait_status(raw, &exited)
        let termination: Termination = result != 0 ? .signalled(0) : exited == 1 ? .exited(value) : .signalled(value)
        let (waiters, blocked) = state.withLock { state in
            state.termination = termination
            defer {
                state.waiters.removeAll()
                state.blockedThreads.removeAll()
            }
            return (state.waiters, state.blockedThreads)
        }
        for waiter in waiters { waiter.resume(returning: termination) }
        for thread in blocked { thread.signal() }
    }
}

/// NUL-terminated copies of strings and a NULL-terminated array of pointers to them, for
/// the length of a call.
private struct CStringArray {
    let strings: [String]

    init(_ strings: [String]) {
        self.strings = strings
    }

    func withPointers<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

private func withOptionalPointers<R>(
    _ array: CStringArray?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> R
) -> R {
    guard let array else { return body(nil) }
    return array.withPointers { body($0) }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
