import NIOCore
import Synchronization

/// Collects the streams that have new output and runs one flush per event-loop tick for
/// all of them, so frames ready together leave in one socket write.
final class HTTP2FlushScheduler: Sendable {
    private struct State {
        var pending: [HTTP2OutboundStream] = []
        var scheduled = false
        var flush: (@Sendable ([HTTP2OutboundStream]) -> Void)?
    }

    let eventLoop: any EventLoop
    private let state = Mutex(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Sets the function that runs on the event loop with the streams to flush.
    func setFlush(_ flush: (@Sendable ([HTTP2OutboundStream]) -> Void)?) {
        state.withLock { $0.flush = flush }
    }

    func schedule(_ stream: HTTP2OutboundStream) {
        let mustSchedule = state.withLock { state -> Bool in
            guard state.flush != nil else { return false }
            state.pending.append(stream)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard mustSchedule else { return }
        eventLoop.execute { self.run() }
    }

    private func run() {
        let (streams, flush) = state.withLock { state in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.scheduled = false
            }
            return (state.pending, state.flush)
        }
        flush?(streams)
    }
}
