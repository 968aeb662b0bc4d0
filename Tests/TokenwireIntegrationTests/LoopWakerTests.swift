import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import TokenwireServer

/// `LoopWaker`: work the loop queues for itself once it has decided to sleep (as
/// `LoopTickGate` does when it releases producers at the end of a tick) runs only when
/// something wakes the loop; `wake()` is that something.
@Suite("Loop waker")
struct LoopWakerTests {
    /// Runs an action, once, at the end of the next loop tick (NIO's `processedTick`, the
    /// callback `LoopTickGates` uses): after the loop has looked at its queue for the last
    /// time before it polls again.
    final class AtTickEnd: NIOEventLoopMetricsDelegate, Sendable {
        private let action = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

        func arm(_ action: @escaping @Sendable () -> Void) {
            self.action.withLockedValue { $0 = action }
        }

        func processedTick(info: NIOEventLoopTickInfo) {
            let action = action.withLockedValue { action in
                defer { action = nil }
                return action
            }
            action?()
        }
    }

    @Test func workQueuedAtTheEndOfATickWaitsForAWakeUpAndTheWakerGivesIt() async throws {
        let atTickEnd = AtTickEnd()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1, metricsDelegate: atTickEnd)
        let loop = group.next()
        let waker = try await LoopWaker.make(on: loop)
        let ran = NIOLockedValueBox<[String]>([])
        let armedRan = NIOLockedValueBox(0)
        // Let the loop run what is already queued for it (`make` awaited a future of the
        // loop's, whose callback registration is one more task): a loop's tasks run in
        // order, so once this one has run, those have.
        let settled = NIOLockedValueBox(false)
        loop.execute { settled.withLockedValue { $0 = true } }
        try await waitUntil("the loop to settle") { settled.withLockedValue { $0 } }

        // Without a wake-up the idle loop sleeps in its poll with the work queued. (If NIO
        // ever woke itself for this, the waker would be unneeded: this says so.) The tick
        // is started with a bare `execute` from here, which wakes the loop once; awaiting a
        // future of the loop's would register its callback on the loop too, a second
        // wake-up that could run the queued work.
        atTickEnd.arm {
            loop.execute { ran.withLockedValue { $0.append("unwoken") } }
            armedRan.withLockedValue { $0 += 1 }
        }
        loop.execute {}
        try await waitUntil("the first tick to end") { armedRan.withLockedValue { $0 } == 1 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(ran.withLockedValue { $0 } == [], "the loop ran work queued after its last look without a wake-up")

        // With one, it runs at once: both the work queued before (its tick was started from
        // here) and this, queued at that tick's end.
        atTickEnd.arm {
            loop.execute { ran.withLockedValue { $0.append("woken") } }
            waker.value.wake()
            armedRan.withLockedValue { $0 += 1 }
        }
        loop.execute {}
        try await waitUntil("the woken work to run") { ran.withLockedValue { $0.count } == 2 }
        #expect(ran.withLockedValue { $0 } == ["unwoken", "woken"])
        try await loop.submit { waker.value.close() }.get()
        try await group.shutdownGracefully()
    }

    /// Polls `condition` every 5 ms for up to 60 s (a bound that holds on a loaded machine).
    private func waitUntil(_ what: String, _ condition: @Sendable () -> Bool) async throws {
        let giveUp = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < giveUp else {
                Issue.record("gave up waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
