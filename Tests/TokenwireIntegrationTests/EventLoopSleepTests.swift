import NIOCore
import NIOPosix
import Testing
import TokenwireTestSupport
@testable import TokenwireRelay
@testable import TokenwireServer

/// The watchdog's sleep on its call's event loop: wakes no earlier than its deadline, at
/// once for a deadline passed, and ends with CancellationError when its task is cancelled,
/// whether the cancel comes while it sleeps or before it began.
@Suite("Event loop sleep")
struct EventLoopSleepTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    /// The sleeps run in tasks on the loop, as the relay's watchdog does: the loop's timer path.
    var onLoop: EventLoopTaskExecutor { EventLoopTaskExecutor(eventLoop: loop) }

    @Test func wakesNoEarlierThanItsDeadline() async throws {
        let deadline = NIODeadline.now() + .milliseconds(20)
        try await withTimeout(60, "a 20 ms sleep") { [loop, onLoop] in
            try await Task(executorPreference: onLoop) {
                #expect(loop.inEventLoop)
                try await EventLoopSleep.sleep(until: deadline, on: loop)
            }.value
        }
        #expect(NIODeadline.now() >= deadline)
    }

    @Test func deadlineAlreadyPassedReturnsAtOnce() async throws {
        try await withTimeout(60, "a sleep until a passed deadline") { [loop, onLoop] in
            try await Task(executorPreference: onLoop) { try await EventLoopSleep.sleep(until: .now() - .seconds(1), on: loop) }.value
        }
    }

    @Test func cancellingTheTaskEndsTheSleepWithCancellationError() async throws {
        let sleeper = Task(executorPreference: onLoop) { [loop] in try await EventLoopSleep.sleep(until: .now() + .hours(1), on: loop) }
        try await Task.sleep(for: .milliseconds(10))  // usually asleep by now; either order must end it
        sleeper.cancel()
        let outcome = try await withTimeout(60, "the cancelled sleep to end") { await sleeper.result }
        #expect(throws: CancellationError.self) { try outcome.get() }
    }

    @Test func taskCancelledBeforeItSleepsDoesNotSleep() async throws {
        let outcome = try await withTimeout(60, "a sleep in a cancelled task") { [loop, onLoop] in
            await Task(executorPreference: onLoop) {
                withUnsafeCurrentTask { $0?.cancel() }
                try await EventLoopSleep.sleep(until: .now() + .hours(1), on: loop)
            }.result
        }
        #expect(throws: CancellationError.self) { try outcome.get() }
    }
}



/// Off its loop the sleep is `Task.sleep`: a loop that has shut down runs no timer, and an
/// off-loop caller cannot know whether it has.
@Suite("Event loop sleep off the loop")
struct EventLoopSleepOffTheLoopTests {
    @Test func sleepOffTheLoopStillWakesWhenTheLoopHasShutDown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        try await group.shutdownGracefully()
        let deadline = NIODeadline.now() + .milliseconds(20)
        try await withTimeout(60, "a sleep off a shut-down loop") {
            try await EventLoopSleep.sleep(until: deadline, on: loop)
        }
        #expect(NIODeadline.now() >= deadline)
    }
}
