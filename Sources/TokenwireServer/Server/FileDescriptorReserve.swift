import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file descriptor held back for the moment the process runs out of them.
///
/// When `accept` fails with EMFILE, a connection waits in the listen backlog and the
/// listening socket stays readable; NIO keeps its read pending after a failed accept, so
/// without help it retries at once, forever, spinning a core (and NIO's
/// `AcceptBackoffHandler` never gets to pause it). Releasing the reserve lets the next
/// accept succeed: that connection is refused and closed (`shouldRefuseNext`), NIO's read
/// completes, and the backoff takes hold. This is the spare-descriptor technique of nginx
/// and libuv.
///
/// The reserve is taken again whenever a descriptor may have come free: when any connection
/// closes, and at the next failed accept (the refused connection's socket is closed some
/// time after its channel reports it closed, so a refill there can still find none).
final class FileDescriptorReserve: Sendable {
    private struct State {
        var descriptor: CInt?
        var refuseNext = false
    }

    private let state = Mutex(State())

    init() {
        refill()
    }

    deinit {
        state.withLock { state in
            if let descriptor = state.descriptor { _ = close(descriptor) }
        }
    }

    /// Frees the reserved descriptor for the next accept, which is to be refused.
    /// - Returns: whether there was one to free.
    @discardableResult
    func release() -> Bool {
        state.withLock { state in
            guard let descriptor = state.descriptor else { return false }
            _ = close(descriptor)
            state.descriptor = nil
            state.refuseNext = true
            return true
        }
    }

    /// Whether the connection just accepted took the reserve's place and must be refused.
    func shouldRefuseNext() -> Bool {
        state.withLock { state in
            defer { state.refuseNext = false }
            return state.refuseNext
        }
    }

    /// Takes a descriptor again if none is held (after the refused connection closed).
    func refill() {
        state.withLock { state in
            guard state.descriptor == nil else { return }
            let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 { state.descriptor = descriptor }
        }
    }
}

