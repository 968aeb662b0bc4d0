import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Testing
import TokenwireCore
@testable import TokenwireHTTP2
@testable import TokenwireServer

/// The per-loop fairness rule for producers that run on an event loop: a shared budget of
/// messages per tick, the first messages of a call exempt, parked producers released
/// oldest first a few per tick, and the gate reachable only on its own loop.
@Suite("Loop tick gate")
struct LoopTickGateTests {
    @Test func budgetIsSharedPerTickAndACallsFirstMessagesSkipIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outcomes = try await loop.submit {
            let gate = LoopTickGate(eventLoop: loop)
            var parkAt: [Int] = []
            for message in 1...LoopTickGate.messagesPerTick + 2 where gate.spend(messageNumber: 10) {
                parkAt.append(message)
            }
            let exemptStillGoes = !gate.spend(messageNumber: LoopTickGate.exemptMessagesPerCall)
            let quietBefore = gate.isQuiet
            gate.tick()
            return (parkAt, exemptStillGoes, quietBefore, gate.isQuiet, gate.spend(messageNumber: 10))
        }.get()
        #expect(outcomes.0 == [LoopTickGate.messagesPerTick + 1, LoopTickGate.messagesPerTick + 2])
        #expect(outcomes.1, "a call's first messages must not park")
        #expect(!outcomes.2 && outcomes.3, "the loop is quiet again after the tick")
        #expect(!outcomes.4, "a new tick brings a new budget")
        try await group.shutdownGracefully()
    }

    @Test func parkedProducersGoOldestFirstAFewPerTick() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let gate = try await loop.submit { LoopTickGate.Handle(LoopTickGate(eventLoop: loop)) }.get()
        let released = NIOLockedValueBox<[Int]>([])
        let count = LoopTickGate.releasedPerTick + 8
        var producers: [Task<Void, Never>] = []
        for index in 0..<count {
            producers.append(Task(executorPreference: executor) {
                await gate.onLoop!.park()
                released.withLockedValue { $0.append(index) }
            })
            // Park them one at a time, so the order they parked in is known.
            try await waitUntil("producer \(index) to park") {
                try await loop.submit { gate.onLoop!.parkedCount }.get() == index + 1
            }
        }
        try await loop.submit { gate.onLoop!.tick() }.get()
        try await waitUntil("the first turn to run") { released.withLockedValue { $0.count } == LoopTickGate.releasedPerTick }
        #expect(released.withLockedValue { $0 } == Array(0..<LoopTickGate.releasedPerTick), "oldest first, one turn's worth")
        #expect(try await loop.submit { gate.onLoop!.parkedCount }.get() == 8)
        try await loop.submit { gate.onLoop!.tick() }.get()
        for producer in producers { await producer.value }
        #expect(released.withLockedValue { $0 } == Array(0..<count))
        try await group.shutdownGracefully()
    }

    @Test func handleGivesTheGateOnlyOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (home, other) = (loops[0], loops[1])
        let handle = try await home.submit { LoopTickGate.Handle(LoopTickGate(eventLoop: home)) }.get()
        #expect(try await home.submit { handle.onLoop != nil }.get())
        #expect(try await other.submit { handle.onLoop == nil }.get(), "another loop's thread must not get the gate")
        #expect(handle.onLoop == nil, "a task off the loop must not get the gate")
        try await group.shutdownGracefully()
    }

    @Test func writersSpendTheGatesBudgetThroughTheHandleOnItsLoopOnly() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (home, other) = (loops[0], loops[1])
        let handle = try await home.submit { LoopTickGate.Handle(LoopTickGate(eventLoop: home)) }.get()
        #expect(try await other.submit { handle.spend(messageNumber: 10) == nil }.get(), "another loop spends nothing")
        #expect(handle.spend(messageNumber: 10) == nil, "a task off the loop spends nothing")
        let (parkAt, quietUntil, gateSaw) = try await home.submit {
            var parkAt: [Int] = []
            var quietUntil = 0
            for message in 1...LoopTickGate.messagesPerTick + 2 {
                let spent = handle.spend(messageNumber: 10)!
                if spent.mustPark { parkAt.append(message) }
                if spent.isQuiet { quietUntil = message }
            }
            // The gate sees what the handle spent: a busy loop, and a park for the next one.
            return (parkAt, quietUntil, (handle.onLoop!.isQuiet, handle.onLoop!.spend(messageNumber: 10)))
        }.get()
        #expect(parkAt == [LoopTickGate.messagesPerTick + 1, LoopTickGate.messagesPerTick + 2])
        #expect(quietUntil == LoopTickGate.quietMessages - 1)
        #expect(!gateSaw.0 && gateSaw.1)
        let afterTick = try await home.submit {
            handle.onLoop!.tick()
            return handle.spend(messageNumber: 10)!
        }.get()
        #expect(!afterTick.mustPark && afterTick.isQuiet, "a new tick brings a new budget")
        try await group.shutdownGracefully()
    }

    /// A producer that offers its events (no `async` call per event) shares the loop as
    /// one that sends them: the call's first token steps aside on a quiet loop, the
    /// tick's budget parks it, and `waitUntilReady` takes exactly that turn.
    @Test func offeringProducerTakesTheLoopsTurnsAsASendingOneDoes() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let gate = try await loop.submit { LoopTickGate.Handle(LoopTickGate(eventLoop: loop)) }.get()
        var configuration = HTTP2Configuration()
        configuration.outboundHighWatermark = 64 * 1024 * 1024  // the client's window never matters here
        let outbound = HTTP2OutboundStream(headers: [], scheduler: HTTP2FlushScheduler(eventLoop: loop), configuration: configuration)
        outbound.attach(streamID: 1, headersSubmitted: true)
        let writer = GRPCResponseWriter(outbound: outbound, gate: gate, eventLoop: loop)
        let sink = StreamingTokenSink(writer: writer, start: StreamStart(streamID: "s", model: "m", provider: "p"))

        // Offered from a task on the loop, as a provider's task runs (the bound keeps a
        // broken rule from offering forever).
        let (firstTokenGoesOn, offeredBeforePark) = try await Task(executorPreference: executor) {
            let first = try sink.offer(.text("a"))
            var offered = 0
            while offered <= LoopTickGate.messagesPerTick, try sink.offer(.text("b")) { offered += 1 }
            return (first, offered)
        }.value
        #expect(!firstTokenGoesOn, "the first token steps aside on a quiet loop")
        #expect(offeredBeforePark == LoopTickGate.messagesPerTick - 1, "the tick's budget, less the first token's message")

        // The pause asked for is the park: waitUntilReady returns only after the tick.
        let resumed = NIOLockedValueBox(false)
        let producer = Task(executorPreference: executor) {
            try await sink.waitUntilReady()
            resumed.withLockedValue { $0 = true }
        }
        try await waitUntil("the producer to park") { try await loop.submit { gate.onLoop!.parkedCount }.get() == 1 }
        #expect(!resumed.withLockedValue { $0 })
        try await loop.submit { gate.onLoop!.tick() }.get()
        try await producer.value
        #expect(resumed.withLockedValue { $0 })
        #expect(try await Task(executorPreference: executor) { try sink.offer(.text("c")) }.value, "a new tick, a new budget")

        // The relay offers from the loop's read callback, outside any task: only the
        // client's window pauses it, never the loop's budget.
        let offeredOutsideATask = try await loop.submit {
            var offered = 0
            while offered <= 2 * LoopTickGate.messagesPerTick, try sink.offer(.text("d")) { offered += 1 }
            return offered
        }.get()
        #expect(offeredOutsideATask > LoopTickGate.messagesPerTick)
        try await group.shutdownGracefully()
    }

    /// Polls `condition` every 5 ms for up to 60 s (a bound that holds on a loaded machine).
    private func waitUntil(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
        let giveUp = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            guard ContinuousClock.now < giveUp else {
                Issue.record("gave up waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
