import NIOCore

/// Where a connection's call handlers run and how they take turns.
struct CallScheduling: Sendable {
    /// The executor of the connection's event loop, or nil for the global executor.
    let executor: EventLoopTaskExecutor?
    /// Where producers wait for their next turn on that loop.
    let gate: LoopTickGate?

    init(eventLoop: any EventLoop, gates: LoopTickGates?) {
        if let gates {
            executor = EventLoopTaskExecutor(eventLoop: eventLoop)
            gate = gates.gate(for: eventLoop)
        } else {
            executor = nil
            gate = nil
        }
    }
}
