import NIOCore

/// Runs Swift tasks on a NIO event loop.
///
/// A call's handler runs on the loop that owns its connection, so writing a token needs
/// no thread hop and no wake-up of another thread: the loop interleaves producers with
/// socket I/O on one thread (see `LoopTickGate` for how they share it fairly).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
