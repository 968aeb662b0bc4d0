import NIOCore

/// Where a connection's call handlers run and how they take turns.
struct CallScheduling: Sendable {
    /// The executor of the connection's event loop, or nil for the global executor.
    let executor: EventLoopTaskExecutor?
    /// Where producers wait for their next turn on that loop.
    let gate: LoopTickGate.Handle?

    init(eventLoop: any EventLoop, gates: LoopTickGates?) {
        if let gates {
            executor = EventLoopTaskExecutor(eventLoop: eventLoop)
            gate = gates.gate(for: eventLoop)
        } else {
            executor = nil
            gate = nil
        }
    }

    /// Calls on `executor`, taking turns by `gate` (nil: by `Task.yield()`). For harnesses
    /// that drive a connection on an `EmbeddedEventLoop`, whose ticks never end and which
    /// must not be touched from other threads (the HTTP/2 fuzz target).
    init(executor: EventLoopTaskExecutor?, gate: LoopTickGate.Handle?) {
        self.executor = executor
        self.gate = gate
    }
}
