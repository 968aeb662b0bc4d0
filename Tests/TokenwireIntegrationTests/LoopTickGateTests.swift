import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Testing
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
