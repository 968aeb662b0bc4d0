import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// Keeps producers running on an event loop from starving its sockets.
///
/// NIO runs queued tasks until none are left before it polls the sockets again. A loop
/// full of token producers would therefore read new requests only after every producer
/// had run out of work (measured: ticks of 100+ ms, and as long to a new call's first
/// token). The gate gives each tick a budget of messages shared by all producers on the
/// loop; once it is spent, writers park here until the tick ends, NIO polls I/O, and
/// the next tick begins with a new budget and lets the longest-parked producers go, a
/// few at a time (round robin across ticks). A call's first messages skip the budget, so
/// its first token leaves in the tick its request arrived in.
///
/// NIO decides how long to sleep before the end-of-tick callback runs, and work enqueued
/// from the loop itself does not wake it; so after releasing producers the gate wakes
/// the loop with its `LoopWaker` (one datagram per tick that has parked producers).
///
/// - Important: Loop-bound: made, used and ticked on its event loop only. Tasks reach it
///   through a `Handle`, which gives it out only on that loop.
final class LoopTickGate {
    /// Messages all producers on the loop may write per tick, together: about 15 KiB of
    /// token frames, some 150 µs of encoding. Smaller budgets cut the time to a new call's
    /// first token under load and cost throughput (docs/BENCHMARKS.md has the sweep).
    static let messagesPerTick = 1024
    /// The first messages of every call skip the budget, so a new call's StreamStart and
    /// first token go out in the tick its request arrived in.
    static let exemptMessagesPerCall = 4

    private let eventLoop: any EventLoop
    /// Parked producers in arrival order; `head` is the next to go.
    private var parked: [UnsafeContinuation<Void, Never>] = []
    private var head = 0
    /// The messages written this tick, spent by writers through their `Handle`.
    let budget = TickBudget()
    /// Wakes the loop after a release; without one, the gate falls back to a wake-up
    /// from another thread.
    var waker: LoopWaker?

    init(eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        self.eventLoop = eventLoop
    }

    /// A gate as any task may hold it: a writer gets the gate only while it runs on the
    /// gate's loop (the server runs calls there). A writer elsewhere (a task a provider
    /// started on the global executor) gets nil and takes turns with `Task.yield()`.
    struct Handle: Sendable {
        private let gate: NIOLoopBound<LoopTickGate>
        let eventLoop: any EventLoop
        private let budget: TickBudget

        /// Call on the gate's loop.
        init(_ gate: LoopTickGate) {
            self.gate = NIOLoopBound(gate, eventLoop: gate.eventLoop)
            self.eventLoop = gate.eventLoop
            self.budget = gate.budget
        }

        /// The gate, if the caller runs on its loop.
        var onLoop: LoopTickGate? { eventLoop.inEventLoop ? gate.value : nil }

        /// Counts one message, if the caller runs on the gate's loop (nil elsewhere): the
        /// writer's per-message question, answered without taking the gate (a reference
        /// to it per message cost a retain, a release and a second loop check).
        func spend(messageNumber: Int) -> TickBudget.Spent? {
            guard eventLoop.inEventLoop else { return nil }
            return budget.spend(messageNumber: messageNumber)
        }
    }

    /// Counts one message (on the loop); see `TickBudget.Spent`.
    func spend(messageNumber: Int) -> Bool {
        budget.spend(messageNumber: messageNumber).mustPark
    }

    /// Whether the loop is quiet this tick (few messages written so far). A new call then
    /// steps aside after its first token so the flush sends it at once; on a busy loop
    /// the tick ends soon anyway, and stepping aside would cost every call an extra write.
    var isQuiet: Bool { budget.count < Self.quietMessages }

    static let quietMessages = 64

    /// Producers parked now, for tests.
    var parkedCount: Int { parked.count - head }

    /// Suspends the calling task until the end of the current loop tick.
    func park() async {
        await withUnsafeContinuation { parked.append($0) }
    }

    /// How many parked producers one tick lets go: enough to spend the budget in turns of
    /// about 32 messages, so a resume is paid per 32 tokens, not per few.
    static let releasedPerTick = max(8, messagesPerTick / 32)

    /// Called by the loop at the end of each tick: a new budget, and the next parked
    /// producers (oldest first) go; the others wait their turn in later ticks.
    func tick() {
        budget.reset()
        guard head < parked.count else { return }
        let end = min(parked.count, head + Self.releasedPerTick)
        for index in head..<end { parked[index].resume() }
        head = end
        if head == parked.count {
            parked.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 {
            parked.removeFirst(head)
            head = 0
        }
        if let waker {
            waker.wake()
        } else {
            let eventLoop = self.eventLoop
            DispatchQueue.global().async { eventLoop.execute {} }
        }
    }
}

/// The messages a loop's writers have written this tick, against
/// `LoopTickGate.messagesPerTick`: spent by the writers (through their gate's `Handle`, on
/// the loop), reset by the gate at the end of each tick.
///
/// - Important: Only the gate's loop touches it; the counter is an atomic only so that a
///   `Sendable` handle can hold it (relaxed: no other thread reads it).
final class TickBudget: Sendable {
    private let spent = Atomic<Int>(0)

    /// What one message's spending asks of its writer.
    struct Spent {
        /// The budget is spent and the message is past its call's exempt first ones: park.
        var mustPark: Bool
        /// Few messages written so far this tick (`LoopTickGate.isQuiet`).
        var isQuiet: Bool
    }

    func spend(messageNumber: Int) -> Spent {
        let count = spent.wrappingAdd(1, ordering: .relaxed).newValue
        return Spent(
            mustPark: count > LoopTickGate.messagesPerTick && messageNumber > LoopTickGate.exemptMessagesPerCall,
            isQuiet: count < LoopTickGate.quietMessages)
    }

    var count: Int { spent.load(ordering: .relaxed) }

    func reset() { spent.store(0, ordering: .relaxed) }
}

/// One `LoopTickGate` per event loop, told of each tick by NIO's metrics callback.
final class LoopTickGates: NIOEventLoopMetricsDelegate {
    private let gates = Mutex<[ObjectIdentifier: LoopTickGate.Handle]>([:])

    /// The gate of `eventLoop`; nil before `prepare` made it (its calls then take turns
    /// with `Task.yield()`).
    func gate(for eventLoop: any EventLoop) -> LoopTickGate.Handle? {
        gates.withLock { $0[ObjectIdentifier(eventLoop)] }
    }

    /// Gives every loop of `group` a gate with a waker, made on that loop (before the
    /// server accepts calls).
    func prepare(_ group: any EventLoopGroup) async throws {
        for eventLoop in group.makeIterator() {
            let waker = try await LoopWaker.make(on: eventLoop)
            let handle = try await eventLoop.submit {
                let gate = LoopTickGate(eventLoop: eventLoop)
                gate.waker = waker.value
                return LoopTickGate.Handle(gate)
            }.get()
            gates.withLock { $0[ObjectIdentifier(eventLoop)] = handle }
        }
    }

    /// Closes the wakers' sockets.
    func shutdown() {
        let gates = gates.withLock { Array($0.values) }
        for handle in gates {
            handle.eventLoop.execute { handle.onLoop?.waker?.close() }
        }
    }

    /// Runs on the loop whose tick ended.
    func processedTick(info: NIOEventLoopTickInfo) {
        let handle = gates.withLock { $0[info.eventLoopID] }
        handle?.onLoop?.tick()
    }
}
